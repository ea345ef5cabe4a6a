"""Imports too large for a web request, run by a django-q2 task in two steps like the admin's:
a check (dry run) whose result the operator reads, then, once confirmed, the import itself.

The task builds the resource the way the admin does in a request — the same admin, the same
resource class, the hospitals worked out from the operator's permissions at the time it runs —
and imports all or nothing in one transaction. Rows done go to the cache while a step runs
(a transaction shows nothing to other processes until it ends); the job row keeps the result.
"""

import logging
import os
from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_q.exceptions import TimeoutException
from django_q.tasks import async_task
from import_export.results import RowResult
from import_export.signals import post_import

from hcm.lowcode.models import ImportJob

logger = logging.getLogger(__name__)

State = ImportJob.State
RUN_TASK = "hcm.lowcode.import_jobs.import_job_run"
PROGRESS_EVERY = 50  # rows between two progress writes
MAX_ERRORS = 200  # errors kept for the page; the count says how many rows had one
UNCONFIRMED_FOR = timedelta(days=1)  # a checked file waits this long for its confirmation
ENCODING = "utf-8-sig"  # as the admin reads text files
TOTAL_KEYS = (
    RowResult.IMPORT_TYPE_NEW,
    RowResult.IMPORT_TYPE_UPDATE,
    RowResult.IMPORT_TYPE_DELETE,
    RowResult.IMPORT_TYPE_SKIP,
    RowResult.IMPORT_TYPE_ERROR,
    RowResult.IMPORT_TYPE_INVALID,
)


def import_job_start(*, model_admin, request, form) -> ImportJob:
    """Keep a file that passed the import form's limits as a job and queue its check."""
    upload = form.cleaned_data["import_file"]
    upload.seek(0)
    file_format = model_admin.get_import_formats()[int(form.cleaned_data["format"])]
    job = ImportJob.objects.create(
        content_type=ContentType.objects.get_for_model(model_admin.model),
        user=request.user,
        file_name=os.path.basename(upload.name or "")[:255],
        file_format=file_format.__name__,
        resource_index=model_admin.get_resource_index(form),
        language=translation.get_language() or "",
        content=upload.read(),
        total_rows=form.row_count,
    )
    _expire_unfinished()
    transaction.on_commit(lambda: _queue(job.pk), robust=True)
    return job


def import_job_confirm(*, job_id: int, user) -> bool:
    """Queue the import of `user`'s checked job; False when it is not (or no longer) waiting for it."""
    confirmed = ImportJob.objects.filter(pk=job_id, user=user, state=State.CHECKED).update(
        state=State.CONFIRMED, rows_done=0, started_at=None, finished_at=None
    )
    if confirmed:
        transaction.on_commit(lambda: _queue(job_id), robust=True)
    return bool(confirmed)


def import_job_run(*, job_id: int) -> str:
    """The task: run the step the job waits for (check, or import) once, whoever else got the task."""
    job = ImportJob.objects.select_related("user", "content_type").filter(pk=job_id).first()
    steps = {State.QUEUED: State.CHECKING, State.CONFIRMED: State.IMPORTING}
    if job is None or job.state not in steps:
        return "nothing to do"
    # A broker that hands the task out again while it runs finds the job claimed.
    running = steps[job.state]
    if not ImportJob.objects.filter(pk=job.pk, state=job.state).update(state=running, started_at=timezone.now()):
        return "claimed elsewhere"
    job.state = running
    with translation.override(job.language or settings.LANGUAGE_CODE):
        try:
            outcome = _run_step(job, dry_run=running == State.CHECKING)
        except TimeoutException:
            minutes = settings.HCM_IMPORT_JOB_TIMEOUT // 60
            _finish(
                job, _failed(_("The job ran longer than %(minutes)s minutes and was stopped.") % {"minutes": minutes})
            )
            raise
        except Exception:
            logger.exception("import job %s failed", job.pk)
            outcome = _failed(_("The import failed unexpectedly."))
    _finish(job, outcome)
    return outcome["state"]


def import_job_rows_done(job: ImportJob) -> int:
    """Rows checked or imported so far: live from the cache while a step runs."""
    if job.state in (State.CHECKING, State.IMPORTING):
        return min(cache.get(_progress_key(job.pk), job.rows_done), job.total_rows)
    return job.rows_done


def import_job_interrupted(job: ImportJob) -> bool:
    """A step that has run well past the task timeout: its worker died; nothing was written."""
    limit = timedelta(seconds=settings.HCM_IMPORT_JOB_TIMEOUT + 60)
    running = job.state in (State.CHECKING, State.IMPORTING) and job.started_at is not None
    return running and job.started_at < timezone.now() - limit


def _queue(job_id: int) -> None:
    async_task(RUN_TASK, job_id=job_id, task_name=f"import-job-{job_id}", timeout=settings.HCM_IMPORT_JOB_TIMEOUT)


def _run_step(job: ImportJob, *, dry_run: bool) -> dict:
    model_admin = admin.site.get_model_admin(job.model)
    request = HttpRequest()
    request.method = "POST"
    request.user = job.user
    if not job.user.is_active or not model_admin.has_import_permission(request):
        return _failed(_("You may no longer import %(things)s.") % {"things": job.model._meta.verbose_name_plural})
    formats = {f.__name__: f for f in model_admin.get_import_formats()}
    resource_classes = model_admin.get_import_resource_classes(request)
    if job.file_format not in formats or job.resource_index >= len(resource_classes):
        return _failed(_("This kind of file can no longer be imported here."))
    input_format = formats[job.file_format](encoding=ENCODING)
    try:
        dataset = input_format.create_dataset(bytes(job.content))
    except Exception:
        return _failed(_("The file could not be read as %(format)s.") % {"format": job.file_format})
    resource = resource_classes[job.resource_index](**model_admin.get_import_resource_kwargs(request))
    resource.on_row = _Progress(job.pk)
    result = resource.import_data(
        dataset,
        dry_run=dry_run,
        raise_errors=False,
        rollback_on_validation_errors=True,
        file_name=job.file_name,
        user=job.user,
        retain_instance_in_row_result=not dry_run,
    )
    outcome = _summary(result)
    if outcome["error_count"]:
        outcome["state"] = State.INVALID if dry_run else State.FAILED
    else:
        outcome["state"] = State.CHECKED if dry_run else State.DONE
        if not dry_run:
            model_admin.generate_log_entries(result, request)
            post_import.send(sender=None, model=job.model)
    return outcome


def _summary(result) -> dict:
    """Totals, and errors with the row number the admin's preview would show."""
    errors = [{"row": None, "field": "", "message": str(error.error)} for error in result.base_errors]
    for number, row_errors in result.row_errors():
        errors += [{"row": error.number or number, "field": "", "message": str(error.error)} for error in row_errors]
    for row in result.invalid_rows:
        for field, messages in row.field_specific_errors.items():
            errors += [{"row": row.number, "field": field, "message": str(m)} for m in messages]
        errors += [{"row": row.number, "field": "", "message": str(m)} for m in row.non_field_specific_errors]
    failed_rows = len(result.row_errors()) + len(result.invalid_rows)
    return {
        "rows_done": result.total_rows,
        "totals": {key: result.totals.get(key, 0) for key in TOTAL_KEYS},
        "errors": errors[:MAX_ERRORS],
        "error_count": failed_rows or len(result.base_errors),
    }


def _failed(message: str) -> dict:
    return {"state": State.FAILED, "errors": [{"row": None, "field": "", "message": message}], "error_count": 1}


def _finish(job: ImportJob, outcome: dict) -> None:
    keep_file = outcome["state"] == State.CHECKED
    ImportJob.objects.filter(pk=job.pk).update(
        **outcome, finished_at=timezone.now(), **({} if keep_file else {"content": b""})
    )
    cache.delete(_progress_key(job.pk))


def _expire_unfinished() -> None:
    """Jobs left unconfirmed (or never run) for a day end, and their files go."""
    stale = ImportJob.objects.filter(created_at__lt=timezone.now() - UNCONFIRMED_FOR).filter(
        state__in=[State.QUEUED, State.CHECKED, State.CONFIRMED]
    )
    for job in stale.only("pk", "language"):
        with translation.override(job.language or settings.LANGUAGE_CODE):
            outcome = _failed(_("Not confirmed within a day; upload the file again to import it."))
        ImportJob.objects.filter(pk=job.pk).update(**outcome, content=b"", finished_at=timezone.now())


def _progress_key(job_id: int) -> str:
    return f"hcm:import-job:{job_id}:rows"


class _Progress:
    """Called after each row with its number; writes every PROGRESS_EVERY rows, best effort."""

    def __init__(self, job_id: int):
        self.key = _progress_key(job_id)

    def __call__(self, row_number: int) -> None:
        if row_number % PROGRESS_EVERY:
            return
        try:
            cache.set(self.key, row_number, timeout=settings.HCM_IMPORT_JOB_TIMEOUT + 60)
        except Exception:  # a cache outage must not fail the import it reports on
            logger.warning("import job progress not recorded", exc_info=True)

"""The admin side of limited and background imports: the mixin of every generated admin that
imports, and the operator's list of import jobs (导入任务) with a page that follows one."""

import os

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from import_export.tmp_storages import TempFolderStorage
from unfold.admin import ModelAdmin

from hcm.lowcode.import_jobs import (
    import_job_confirm,
    import_job_interrupted,
    import_job_rows_done,
    import_job_start,
)
from hcm.lowcode.import_limits import IMPORTABLE_FORMATS, LimitedImportForm, count_rows
from hcm.lowcode.models import ImportJob


class LimitedImportMixin:
    """Imports of CSV, TSV and Excel files within the size and row limits. A file of up to
    HCM_IMPORT_BACKGROUND_ROWS rows is previewed and imported in the request as before; a
    larger one becomes an import job, checked and (once confirmed) imported by a worker."""

    import_form_class = LimitedImportForm

    def get_import_formats(self):
        return [f for f in super().get_import_formats() if f.__name__ in IMPORTABLE_FORMATS]

    def create_import_form(self, request):
        # One form per request, so the file is counted once whichever path takes it.
        if not hasattr(request, "_hcm_import_form"):
            request._hcm_import_form = super().create_import_form(request)
        return request._hcm_import_form

    def import_action(self, request, **kwargs):
        if request.POST and self.has_import_permission(request):
            form = self.create_import_form(request)
            if form.is_valid() and form.row_count > settings.HCM_IMPORT_BACKGROUND_ROWS:
                job = import_job_start(model_admin=self, request=request, form=form)
                message = _(
                    "The file has %(rows)s rows, so it is checked in the background; this page shows how far it got."
                )
                self.message_user(request, message % {"rows": job.total_rows}, messages.INFO)
                return redirect(reverse("admin:lowcode_importjob_change", args=[job.pk]))
        return super().import_action(request, **kwargs)

    @method_decorator(require_POST)
    def process_import(self, request, **kwargs):
        """The confirmation of a preview: only a file the preview kept, and within its limits
        (the form names the file, so it is checked again rather than trusted)."""
        if self.has_import_permission(request):
            refusal = self._stored_file_refusal(request)
            if refusal:
                self.message_user(request, refusal, messages.ERROR)
                info = self.opts.app_label, self.opts.model_name
                return redirect(reverse("admin:{}_{}_import".format(*info), current_app=self.admin_site.name))
        return super().process_import(request, **kwargs)

    def _stored_file_refusal(self, request) -> str | None:
        form = self.create_confirm_form(request)
        storage_class = self.get_tmp_storage_class()
        if not form.is_valid() or not issubclass(storage_class, TempFolderStorage):
            return None
        full_path = storage_class(name=form.cleaned_data["import_file_name"]).get_full_path()
        formats = self.get_import_formats()
        try:
            chosen = formats[int(form.cleaned_data["format"])].__name__
            size = os.path.getsize(full_path)
        except (OSError, ValueError, IndexError):
            return _("The uploaded file is no longer available; upload it again.")
        if size > settings.HCM_IMPORT_MAX_BYTES:
            return _("The file is over the size limit; upload it again.")
        with open(full_path, "rb") as stored:
            try:
                rows = count_rows(stored, chosen)
            except ValidationError:
                return _("The file is over the limits of an import; upload it again.")
        if rows > settings.HCM_IMPORT_BACKGROUND_ROWS:
            return _("The file is over the limits of an import; upload it again.")
        return None


@admin.register(ImportJob)
class ImportJobAdmin(ModelAdmin):
    """Each operator's own import jobs; a job's page shows its progress and result."""

    list_display = ["created_at", "kind", "file_name", "state", "progress", "error_count"]
    list_filter = ["state"]
    search_fields = ["file_name"]
    list_display_links = ["created_at", "file_name"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(user=request.user).defer("content").select_related("content_type")

    def has_module_permission(self, request):
        user = request.user
        return user.is_active and user.is_staff and ImportJob.objects.filter(user=user).exists()

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff and (obj is None or obj.user_id == request.user.pk)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("data"))
    def kind(self, job):
        return _things(job)

    @admin.display(description=gettext_lazy("progress"))
    def progress(self, job):
        return f"{import_job_rows_done(job)} / {job.total_rows}"

    def get_urls(self):
        return [
            path(
                "<path:object_id>/confirm/",
                self.admin_site.admin_view(self.confirm_view),
                name="lowcode_importjob_confirm",
            ),
            *super().get_urls(),
        ]

    def _job(self, request, object_id) -> ImportJob:
        job = self.get_object(request, unquote(object_id))
        if job is None or not self.has_view_permission(request, job):
            raise Http404
        return job

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self._job(request, object_id)
        interrupted = import_job_interrupted(job)
        model_opts = (job.model or ImportJob)._meta
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import job: %(file)s") % {"file": job.file_name},
            "opts": self.opts,
            "job": job,
            "things": _things(job),
            "rows_done": import_job_rows_done(job),
            "percent": round(100 * import_job_rows_done(job) / job.total_rows) if job.total_rows else 100,
            "running": job.state in ImportJob.RUNNING and not interrupted,
            "interrupted": interrupted,
            "more_errors": max(job.error_count - len(job.errors), 0) if job.state != ImportJob.State.FAILED else 0,
            "changelist_url": _admin_url(model_opts, "changelist"),
            "import_url": _admin_url(model_opts, "import"),
            "refresh_seconds": 3,
        }
        return TemplateResponse(request, "lowcode/import_job.html", context)

    @method_decorator(require_POST)
    def confirm_view(self, request, object_id):
        job = self._job(request, object_id)
        if import_job_confirm(job_id=job.pk, user=request.user):
            self.message_user(request, _("Confirmed: the rows are being imported in the background."), messages.SUCCESS)
        else:
            self.message_user(request, _("This import job cannot be confirmed now."), messages.ERROR)
        return redirect(reverse("admin:lowcode_importjob_change", args=[job.pk]))


def _things(job: ImportJob) -> str:
    """What the job imports (a model removed since shows its old name)."""
    return job.model._meta.verbose_name_plural if job.model else job.content_type.model


def _admin_url(opts, view: str) -> str | None:
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}")
    except NoReverseMatch:  # the model left the admin (or lost its import) since the upload
        return None

"""Writes of reports: copies of the HIS's reports, stored once per number, and the "report ready"
notification that goes out once per report and bound account.

Three ways bring reports in, and all end in `reports_store`: a patient's own fetch
(`reports_fetch`, when their list is opened), the schedule of each hospital (`reports_sync`,
one HIS call for every patient) and the HIS's signed push (`reports_push`). HIS calls happen
before the transaction, never inside one: the store is set-based and short, and a report's
PDF is fetched after commit by a task.
"""

import hashlib
import hmac
import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from hcm.env import env_str
from hcm.his.contract import HisCheckupReport, HisExamResult, HisNewReports, ReportKind, adapter_for
from hcm.his.wire import WireError
from hcm.his.wire_reports import new_reports_from_wire
from hcm.hospitals.models import Hospital
from hcm.lowcode.errors import DomainError
from hcm.notifications.models import Notification
from hcm.notifications.services import notify_many, queue_send
from hcm.patients.models import Binding, PatientRecord
from hcm.reports.models import CheckupReport, ExamResult, ReportSyncCursor

log = logging.getLogger(__name__)

FIRST_SYNC_LOOKBACK = timedelta(days=3)  # a hospital's first sync reads this far back
SYNC_OVERLAP = timedelta(minutes=10)  # each sync reads a little of the last window again (clocks, late commits)
PDF_TASK = "hcm.reports.tasks.fetch_pdfs"
CHUNK = 500
COMMON_FIELDS = ["patient", "his_patient_id", "medical_card_number", "reported_at", "his_updated_at"]
CHECKUP_FIELDS = [*COMMON_FIELDS, "title", "checkup_date", "summary", "sections", "conclusions", "has_pdf"]
EXAM_FIELDS = [*COMMON_FIELDS, "name", "department", "sampled_at", "items", "abnormal_count"]


class ReportsRefused(DomainError):
    code = "reports_refused"
    status = 409


@dataclass(frozen=True)
class StoreOutcome:
    stored: int  # reports whose version we now hold (new, updated, or already up to date)
    new: int  # of them, seen for the first time: announced to the bound accounts
    skipped: int  # reports of people without a patient record at this hospital
    outdated: int = 0  # reports older than our copy (by the HIS's updated_at): not written

    def as_dict(self) -> dict[str, int]:
        return {"stored": self.stored, "new": self.new, "skipped": self.skipped, "outdated": self.outdated}


def _chunks(values: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _records_by_card(hospital: Hospital, cards: set[str]) -> dict[str, PatientRecord]:
    records: dict[str, PatientRecord] = {}
    for chunk in _chunks(sorted(cards)):
        found = PatientRecord.objects.filter(hospital=hospital, medical_card_number__in=chunk)
        records.update({record.medical_card_number: record for record in found})
    return records


def _checkup_row(hospital: Hospital, report: HisCheckupReport, patient: PatientRecord) -> CheckupReport:
    return CheckupReport(
        hospital=hospital,
        patient=patient,
        number=report.report_number,
        his_patient_id=report.his_patient_id,
        medical_card_number=report.medical_card_number,
        reported_at=report.reported_at,
        his_updated_at=report.updated_at,
        title=report.title,
        checkup_date=report.checkup_date,
        summary=report.summary,
        sections=[{"name": s.name, "findings": s.findings} for s in report.sections],
        conclusions=list(report.conclusions),
        has_pdf=report.has_pdf,
    )


def _exam_row(hospital: Hospital, result: HisExamResult, patient: PatientRecord) -> ExamResult:
    return ExamResult(
        hospital=hospital,
        patient=patient,
        number=result.result_number,
        his_patient_id=result.his_patient_id,
        medical_card_number=result.medical_card_number,
        reported_at=result.reported_at,
        his_updated_at=result.updated_at,
        name=result.name,
        department=result.department,
        sampled_at=result.sampled_at,
        items=[
            {
                "name": item.name,
                "value": item.value,
                "unit": item.unit,
                "reference_range": item.reference_range,
                "abnormal": item.abnormal,
            }
            for item in result.items
        ],
        abnormal_count=sum(1 for item in result.items if item.abnormal),
    )


def _newest_per_number(rows: list) -> list:
    """One row per number, the HIS's latest version (the later of equals), in number order: every
    caller locks rows in the same order."""
    newest: dict[str, object] = {}
    for row in rows:
        if row.number not in newest or row.his_updated_at >= newest[row.number].his_updated_at:
            newest[row.number] = row
    return sorted(newest.values(), key=lambda row: row.number)


def _differs(current, incoming, fields: list[str]) -> bool:
    return any(
        getattr(current, model_field.attname) != getattr(incoming, model_field.attname)
        for model_field in (current._meta.get_field(name) for name in fields)
    )


def _upsert(model, rows: list, fields: list[str]) -> tuple[list, int]:
    """Insert new reports, update those whose incoming version is as new as ours or newer, and
    return the rows not announced yet and the count of incoming versions older than ours.

    Rows are locked in number order before they are compared, so of two concurrent stores of
    the same report the newer version wins whichever commits last (PostgreSQL; SQLite runs one
    writer at a time); the lock also makes a concurrent store find the report announced.
    """
    rows = _newest_per_number(rows)
    if not rows:
        return [], 0
    model.objects.bulk_create(rows, batch_size=CHUNK, ignore_conflicts=True)
    incoming = {row.number: row for row in rows}
    changed, fresh, outdated = [], [], 0
    for chunk in _chunks(list(incoming)):
        held = model.objects.filter(hospital=rows[0].hospital, number__in=chunk).select_related("patient")
        for current in held.select_for_update(of=("self",)).order_by("number"):
            new = incoming[current.number]
            if new.his_updated_at < current.his_updated_at:
                outdated += 1
            elif _differs(current, new, fields):
                for name in fields:
                    setattr(current, name, getattr(new, name))
                current.updated_at = timezone.now()
                changed.append(current)
            if current.notified_at is None:
                fresh.append(current)
    model.objects.bulk_update(changed, [*fields, "updated_at"], batch_size=CHUNK)
    return fresh, outdated


def reports_store(*, hospital: Hospital, reports: HisNewReports) -> StoreOutcome:
    """Keep our copy of these reports (set-based, idempotent, never replacing a newer version
    with an older one) and announce the ones never announced to every account bound to their
    person, once per report and account."""
    cards = {r.medical_card_number for r in (*reports.checkup_reports, *reports.exam_results)}
    records = _records_by_card(hospital, cards)
    checkups = [
        _checkup_row(hospital, r, records[r.medical_card_number])
        for r in reports.checkup_reports
        if r.medical_card_number in records
    ]
    exams = [
        _exam_row(hospital, r, records[r.medical_card_number])
        for r in reports.exam_results
        if r.medical_card_number in records
    ]
    with transaction.atomic():
        fresh_checkups, outdated_checkups = _upsert(CheckupReport, checkups, CHECKUP_FIELDS)
        fresh_exams, outdated_exams = _upsert(ExamResult, exams, EXAM_FIELDS)
        _announce(hospital=hospital, reports=[*fresh_checkups, *fresh_exams])
        now = timezone.now()
        CheckupReport.objects.filter(pk__in=[r.pk for r in fresh_checkups]).update(notified_at=now)
        ExamResult.objects.filter(pk__in=[r.pk for r in fresh_exams]).update(notified_at=now)
        with_pdf = [r.pk for r in fresh_checkups if r.has_pdf and not r.pdf]
        if with_pdf:
            transaction.on_commit(lambda: async_task(PDF_TASK, with_pdf), robust=True)
    total = len(reports.checkup_reports) + len(reports.exam_results)
    outdated = outdated_checkups + outdated_exams
    stored = len({r.number for r in checkups}) + len({r.number for r in exams}) - outdated
    return StoreOutcome(
        stored=stored,
        new=len(fresh_checkups) + len(fresh_exams),
        skipped=total - len(checkups) - len(exams),
        outdated=outdated,
    )


def _announce(*, hospital: Hospital, reports: list) -> None:
    """One "report_ready" message per report and account bound to its person, sent after commit."""
    if not reports:
        return
    bindings = Binding.objects.filter(hospital=hospital, patient_id__in={r.patient_id for r in reports})
    accounts = defaultdict(list)
    for binding in bindings.select_related("account").order_by("pk"):
        accounts[binding.patient_id].append(binding.account)
    messages = [
        (account, _message(report), f"report_ready:{report.kind}:{report.number}:{account.pk}")
        for report in reports
        for account in accounts[report.patient_id]
    ]
    if not messages:
        return
    notify_many(hospital=hospital, event="report_ready", messages=messages)
    keys = [key for _account, _data, key in messages]
    ids = []
    for chunk in _chunks(keys):
        pending = Notification.objects.filter(hospital=hospital, dedupe_key__in=chunk, state=Notification.State.PENDING)
        ids += pending.values_list("pk", flat=True)
    # Sent now rather than at the next sweep; a send queued twice is claimed once.
    transaction.on_commit(lambda: [queue_send(pk) for pk in ids], robust=True)


def _message(report: CheckupReport | ExamResult) -> dict[str, str]:
    return {
        "patient": report.patient.masked_name if report.patient else "",
        "kind": str(ReportKind(report.kind).label),
        "report": report.title if isinstance(report, CheckupReport) else report.name,
        "number": report.number,
        "time": timezone.localtime(report.reported_at).strftime("%Y-%m-%d %H:%M"),
    }


def reports_fetch(*, hospital: Hospital, patient: PatientRecord) -> StoreOutcome:
    """Bring one person's reports from the HIS (three reads) and store them; new ones are announced."""
    his = adapter_for(hospital)
    found = his.find_patient(medical_card_number=patient.medical_card_number)
    if found is None:
        raise ReportsRefused(
            _("The hospital system has no record of this person; please ask at the hospital."),
            code="his_patient_not_found",
            status=404,
        )
    reports = HisNewReports(
        checkup_reports=tuple(his.checkup_reports(his_patient_id=found.his_patient_id)),
        exam_results=tuple(his.exam_results(his_patient_id=found.his_patient_id)),
    )
    mine = HisNewReports(  # the HIS's answer names the card: never store another person's report here
        checkup_reports=tuple(
            r for r in reports.checkup_reports if r.medical_card_number == patient.medical_card_number
        ),
        exam_results=tuple(r for r in reports.exam_results if r.medical_card_number == patient.medical_card_number),
    )
    return reports_store(hospital=hospital, reports=mine)


def reports_sync(*, hospital: Hospital) -> StoreOutcome:
    """Store every report the HIS made ready since the last sync, for every patient, in one HIS call."""
    started = timezone.now()
    cursor = ReportSyncCursor.objects.filter(hospital=hospital).first()
    since = (cursor.synced_until if cursor else started - FIRST_SYNC_LOOKBACK) - SYNC_OVERLAP
    reports = adapter_for(hospital).reports_since(since=since)
    outcome = reports_store(hospital=hospital, reports=reports)
    with transaction.atomic():
        cursor, created = ReportSyncCursor.objects.select_for_update().get_or_create(
            hospital=hospital, defaults={"synced_until": started}
        )
        if not created and cursor.synced_until < started:  # a slower concurrent sync never moves it back
            cursor.synced_until = started
            cursor.save(update_fields=["synced_until", "updated_at"])
    return outcome


PUSH_MAX_AGE = 300  # seconds: a push older than this (or from the future) is a replay or a wrong clock
PUSH_SEEN_KEY = "hcm:his-push:{hospital}:{signature}"


def push_signature(*, secret: str, body: bytes, timestamp: str) -> str:
    """The X-HIS-Signature value of a push: "sha256=" and the hex HMAC-SHA256, keyed with the
    secret, of the X-HIS-Timestamp value (Unix seconds), a dot, and the raw body."""
    message = timestamp.encode("ascii", "replace") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _remember_push(*, hospital: Hospital, signature: str, timestamp: str) -> str | None:
    """The cache key that now marks this signature as used, or None if it was used already.

    Kept in the shared cache until the timestamp leaves the window, so a push replayed while
    it is still fresh is refused by every process; after that the age check refuses it.
    """
    key = PUSH_SEEN_KEY.format(hospital=hospital.pk, signature=signature)
    remaining = int(timestamp) + PUSH_MAX_AGE - int(time.time()) + 1
    return key if cache.add(key, 1, timeout=max(remaining, 1)) else None


def reports_push(*, hospital: Hospital, body: bytes, signature: str, timestamp: str) -> StoreOutcome:
    """Store the reports the HIS pushed, if the push carries the hospital's signature, is fresh
    and was not received before; nothing otherwise.

    The body has the shape of the HIS's `GET /reports` answer. A push is accepted once: the same
    signed request again is refused, so the HIS signs every push (a retry too) with a new
    timestamp. Whatever the order pushes arrive in, a report's older version (by its
    `updated_at`) never overwrites a newer one, and a report is announced once.
    """
    secret_env = hospital.settings.integrations.his.push_secret_env
    secret = env_str(secret_env) if secret_env else None
    if not secret:
        raise ReportsRefused(
            _("This hospital does not accept reports pushed by its hospital system."),
            code="his_push_not_configured",
            status=403,
        )
    expected = push_signature(secret=secret, body=body, timestamp=timestamp).encode("ascii")
    if not hmac.compare_digest(expected, signature.strip().lower().encode("utf-8", "replace")):
        raise ReportsRefused(_("The signature of the pushed reports is not valid."), code="bad_signature", status=403)
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > PUSH_MAX_AGE:
        raise ReportsRefused(_("The pushed reports are too old or dated in the future."), code="stale_push", status=403)
    try:
        reports = new_reports_from_wire(json.loads(body))
    except (ValueError, WireError) as error:  # json's errors are ValueErrors too
        raise DomainError(
            _("The pushed reports could not be read."), code="invalid", fields={"body": [str(error)]}
        ) from None
    seen = _remember_push(hospital=hospital, signature=expected.decode("ascii"), timestamp=timestamp)
    if seen is None:
        raise ReportsRefused(
            _("This push was received already; sign it again with a new timestamp to send it again."),
            code="replayed_push",
            status=409,
        )
    try:
        return reports_store(hospital=hospital, reports=reports)
    except BaseException:
        cache.delete(seen)  # nothing was stored: the HIS may send the same push again
        raise


def _pdf_present(report: CheckupReport) -> bool:
    return bool(report.pdf) and report.pdf.storage.exists(report.pdf.name)


def report_pdf_fetch(*, report: CheckupReport) -> CheckupReport:
    """The report with its PDF: fetched from the HIS and stored privately the first time (or when
    the stored file went missing), kept after."""
    if _pdf_present(report):
        return report
    if not report.has_pdf:
        raise ReportsRefused(_("This report has no PDF."), code="report_pdf_not_found", status=404)
    pdf = adapter_for(report.hospital).report_pdf(report_number=report.number)  # before any lock
    with transaction.atomic():
        locked = CheckupReport.objects.select_for_update().get(pk=report.pk)
        if not _pdf_present(locked):  # a concurrent fetch may have stored it meanwhile
            locked.pdf.save(f"{locked.number}.pdf", ContentFile(pdf), save=False)
            locked.save(update_fields=["pdf", "updated_at"])
    return locked


def report_viewed(*, report: CheckupReport | ExamResult) -> None:
    """Record the first time a bound account opened the report (it no longer counts as new)."""
    if report.viewed_at is None:
        now = timezone.now()
        type(report).objects.filter(pk=report.pk, viewed_at__isnull=True).update(viewed_at=now)
        report.viewed_at = now

"""Reads of reports for the patient API and the my page: only people bound to the account."""

from django.db.models import QuerySet

from hcm.patients.models import PatientRecord, WechatAccount
from hcm.reports.models import CheckupReport, ExamResult


def reports_of(model: type[CheckupReport] | type[ExamResult], patient: PatientRecord) -> QuerySet:
    """One person's reports of one kind, newest first."""
    return model.objects.filter(hospital_id=patient.hospital_id, patient=patient).order_by("-reported_at", "-pk")


def bound_report(
    model: type[CheckupReport] | type[ExamResult], *, account: WechatAccount, pk: int
) -> CheckupReport | ExamResult | None:
    """The report if its person is bound to the account; None otherwise (whether or not it exists)."""
    reports = model.objects.filter(pk=pk, hospital_id=account.hospital_id, patient__bindings__account=account)
    return reports.select_related("patient", "hospital").first()


def new_report_count(account: WechatAccount, patient: PatientRecord | None) -> int:
    """The current person's reports no bound account has opened yet (the my page's "new reports")."""
    if patient is None:
        return 0
    return sum(
        reports_of(model, patient).filter(viewed_at__isnull=True).count() for model in (CheckupReport, ExamResult)
    )

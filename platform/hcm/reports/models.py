"""Reports (我的报告, MISSION A6): our copies of the HIS's checkup reports and examination results.

The HIS is where reports are made; we keep a copy per report number so that lists are fast,
the patient sees them while the HIS is down, and "report ready" goes out once: a report
whose `notified_at` is empty has not been announced yet. A report belongs to the patient
record with its medical card number; only accounts bound to that record may read it.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from hcm.his.contract import ReportKind
from hcm.reports.storage import PrivateReportStorage, report_pdf_path


class Report(models.Model):
    """What both kinds share: whose it is, when it was ready, whether it was announced and read."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    patient = models.ForeignKey(
        "patients.PatientRecord",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("patient"),
    )
    number = models.CharField(_("report number"), max_length=64)
    his_patient_id = models.CharField(_("HIS patient id"), max_length=64)
    medical_card_number = models.CharField(_("medical card number"), max_length=32, db_index=True)
    reported_at = models.DateTimeField(_("ready at"))
    # The version we hold: an older version of the report (a replayed push, a slow sync) never
    # overwrites a newer one.
    his_updated_at = models.DateTimeField(_("changed in the HIS at"))
    notified_at = models.DateTimeField(_("patient notified at"), null=True, blank=True)
    viewed_at = models.DateTimeField(_("first read at"), null=True, blank=True)
    created_at = models.DateTimeField(_("received at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    kind: str

    class Meta:
        abstract = True
        ordering = ["-reported_at", "-pk"]

    def __str__(self) -> str:
        return self.number


class CheckupReport(Report):
    """A health checkup's report: summary, findings per section, conclusions, and the signed PDF."""

    kind = ReportKind.CHECKUP
    title = models.CharField(_("title"), max_length=200)
    checkup_date = models.DateField(_("checkup date"))
    summary = models.TextField(_("summary"), blank=True)
    sections = models.JSONField(_("sections"), default=list, blank=True)  # [{"name", "findings"}]
    conclusions = models.JSONField(_("conclusions"), default=list, blank=True)  # [str]
    has_pdf = models.BooleanField(_("has a PDF"), default=False)
    pdf = models.FileField(
        _("PDF"), storage=PrivateReportStorage(), upload_to=report_pdf_path, max_length=200, blank=True
    )

    class Meta(Report.Meta):
        verbose_name = _("checkup report")
        verbose_name_plural = _("checkup reports")
        constraints = [models.UniqueConstraint(fields=["hospital", "number"], name="checkup_report_unique_number")]
        indexes = [models.Index(fields=["patient", "-reported_at"], name="checkup_report_patient_idx")]


class ExamResult(Report):
    """A daily examination's result: items with value, unit, reference range and abnormal flag."""

    kind = ReportKind.EXAM
    name = models.CharField(_("examination"), max_length=100)
    department = models.CharField(_("department"), max_length=64, blank=True)
    sampled_at = models.DateTimeField(_("sampled at"))
    # [{"name", "value", "unit", "reference_range", "abnormal": "" | "high" | "low"}]
    items = models.JSONField(_("items"), default=list, blank=True)
    abnormal_count = models.PositiveSmallIntegerField(_("abnormal items"), default=0)

    class Meta(Report.Meta):
        verbose_name = _("examination result")
        verbose_name_plural = _("examination results")
        constraints = [models.UniqueConstraint(fields=["hospital", "number"], name="exam_result_unique_number")]
        indexes = [models.Index(fields=["patient", "-reported_at"], name="exam_result_patient_idx")]


class ReportSyncCursor(models.Model):
    """How far the scheduled sync has read the HIS's new reports of one hospital."""

    hospital = models.OneToOneField(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    synced_until = models.DateTimeField(_("synchronised until"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("report synchronisation")
        verbose_name_plural = _("report synchronisations")

    def __str__(self) -> str:
        return f"{self.hospital_id}: {self.synced_until.isoformat()}"

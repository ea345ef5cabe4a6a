"""Reports in the admin and the staff API: read-only copies of the HIS's reports, searchable by
report number and medical card number. The PDF never appears here (it has no URL); patients
download it through their authorised endpoint."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from hcm.lowcode.admin import ReadOnlyAdminMixin
from hcm.lowcode.declarations import Resource, Scope, register
from hcm.reports.models import CheckupReport, ExamResult

_SHARED = ["id", "number", "patient", "medical_card_number", "reported_at", "notified_at", "viewed_at"]


class CheckupReportAdminMixin(ReadOnlyAdminMixin):
    exclude = ["pdf"]

    @admin.display(boolean=True, description=_("PDF stored"))
    def pdf_stored(self, report: CheckupReport) -> bool:
        return bool(report.pdf)

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "pdf_stored"]


@register
class CheckupReportResource(Resource):
    model = CheckupReport
    feature = "reports"
    list_display = ["number", "title", "patient", "medical_card_number", "checkup_date", "has_pdf", "reported_at"]
    list_display += ["notified_at", "hospital"]
    list_filter = ["has_pdf", "checkup_date", "reported_at", "hospital"]
    search_fields = ["number", "medical_card_number", "his_patient_id", "title"]
    select_related = ["patient"]
    admin_mixins = [CheckupReportAdminMixin]
    staff = Scope(
        fields=[*_SHARED, "title", "checkup_date", "summary", "sections", "conclusions", "has_pdf"],
        list_fields=[*_SHARED, "title", "checkup_date", "has_pdf"],
        filters=["has_pdf", "patient", "medical_card_number"],
        search=["number", "medical_card_number"],
    )


@register
class ExamResultResource(Resource):
    model = ExamResult
    feature = "reports"
    list_display = ["number", "name", "department", "patient", "medical_card_number", "abnormal_count"]
    list_display += ["reported_at", "notified_at", "hospital"]
    list_filter = ["department", "reported_at", "hospital"]
    search_fields = ["number", "medical_card_number", "his_patient_id", "name"]
    select_related = ["patient"]
    admin_mixins = [ReadOnlyAdminMixin]
    staff = Scope(
        fields=[*_SHARED, "name", "department", "sampled_at", "items", "abnormal_count"],
        list_fields=[*_SHARED, "name", "department", "sampled_at", "abnormal_count"],
        filters=["department", "patient", "medical_card_number"],
        search=["number", "medical_card_number"],
    )

"""Patient report endpoints under /api/v1/<hospital>/patient/reports/ (MISSION A6).

Lists show the current person's reports, newest first, from our copy (kept fresh by the
schedule and the HIS's push; opening a list also asks the HIS for the person's reports at
most every REFRESH_EVERY, and shows what we have when the HIS is down). A report, and a
checkup report's PDF, open only for accounts bound to the report's person; anyone else gets
404, as for a report that does not exist.
"""

import logging

from django.core.cache import cache
from django.http import FileResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from hcm.his.contract import ABNORMAL_FLAGS, HisError
from hcm.hospitals.models import Hospital
from hcm.lowcode.api import ERROR_RESPONSE, HOSPITAL_PARAMETER
from hcm.lowcode.serializers import ModelSerializer
from hcm.patients.api import PatientEndpoint
from hcm.patients.models import PatientRecord
from hcm.patients.selectors import require_current_patient
from hcm.reports import selectors, services
from hcm.reports.models import CheckupReport, ExamResult

log = logging.getLogger(__name__)
TAG = "patient · reports"
REFRESH_EVERY = 300  # seconds between two HIS fetches of one person's reports from the lists


class _ReportSerializer(ModelSerializer):
    new = serializers.SerializerMethodField(help_text="Not opened yet by any bound account.")
    patient_name = serializers.SerializerMethodField(help_text="Masked (尤**).")

    def get_new(self, report) -> bool:
        return report.viewed_at is None

    def get_patient_name(self, report) -> str:
        return report.patient.masked_name if report.patient else ""


class CheckupReportListSerializer(_ReportSerializer):
    class Meta:
        model = CheckupReport
        fields = ["id", "number", "title", "checkup_date", "reported_at", "has_pdf", "new", "patient_name"]


class SectionSerializer(serializers.Serializer):
    name = serializers.CharField()
    findings = serializers.CharField()


class CheckupReportSerializer(_ReportSerializer):
    sections = SectionSerializer(many=True)
    conclusions = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = CheckupReport
        fields = [*CheckupReportListSerializer.Meta.fields, "summary", "sections", "conclusions"]


class ExamResultListSerializer(_ReportSerializer):
    class Meta:
        model = ExamResult
        fields = ["id", "number", "name", "department", "sampled_at", "reported_at", "abnormal_count", "new"]
        fields += ["patient_name"]


class ExamItemSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.CharField()
    unit = serializers.CharField(allow_blank=True)
    reference_range = serializers.CharField(allow_blank=True)
    abnormal = serializers.ChoiceField(
        choices=[(flag, flag) for flag in ABNORMAL_FLAGS], help_text='"" normal, "high" or "low".'
    )


class ExamResultSerializer(_ReportSerializer):
    items = ExamItemSerializer(many=True)

    class Meta:
        model = ExamResult
        fields = [*ExamResultListSerializer.Meta.fields, "items"]


def refresh_from_his(*, hospital: Hospital, patient: PatientRecord) -> None:
    """Fetch the person's reports from the HIS unless that happened lately; a failing HIS is logged, not shown."""
    key = f"reports:fetched:{hospital.pk}:{patient.pk}"
    if not cache.add(key, True, REFRESH_EVERY):  # add is atomic: concurrent lists fetch once
        return
    try:
        services.reports_fetch(hospital=hospital, patient=patient)
    except HisError as error:
        cache.delete(key)
        log.warning("%s: reports of patient %s not refreshed: %s", hospital.code, patient.pk, error.his_message)
    except services.ReportsRefused as refused:  # the HIS does not know the person: nothing to fetch
        log.info("%s: reports of patient %s not refreshed: %s", hospital.code, patient.pk, refused.code)


class _ReportList(PatientEndpoint, mixins.ListModelMixin, GenericAPIView):
    feature = "reports"
    model: type[CheckupReport] | type[ExamResult]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no signed-in patient
            return self.model.objects.none()
        return selectors.reports_of(self.model, self.patient).select_related("patient")

    def get(self, request, hospital: str):
        self.patient = require_current_patient(request.user)
        refresh_from_his(hospital=self.hospital, patient=self.patient)
        return self.list(request)


class _ReportDetail(PatientEndpoint, GenericAPIView):
    feature = "reports"
    model: type[CheckupReport] | type[ExamResult]

    def get_report(self, pk: int):
        report = selectors.bound_report(self.model, account=self.request.user, pk=pk)
        if report is None:
            raise NotFound()
        return report

    def get(self, request, hospital: str, pk: int):
        report = self.get_report(pk)
        body = self.get_serializer(report).data  # "new" as it was before this opening
        services.report_viewed(report=report)
        return Response(body)


@extend_schema(
    tags=[TAG],
    summary="The current person's checkup reports, newest first",
    parameters=[HOSPITAL_PARAMETER],
    responses={200: CheckupReportListSerializer(many=True), 409: ERROR_RESPONSE},
)
class CheckupReportListView(_ReportList):
    """Checkup reports of the account's current person (asks the HIS for new ones at most every 5 minutes)."""

    model = CheckupReport
    serializer_class = CheckupReportListSerializer


@extend_schema(
    tags=[TAG],
    summary="The current person's examination results, newest first",
    parameters=[HOSPITAL_PARAMETER],
    responses={200: ExamResultListSerializer(many=True), 409: ERROR_RESPONSE},
)
class ExamResultListView(_ReportList):
    """Examination results of the account's current person (asks the HIS for new ones at most every 5 minutes)."""

    model = ExamResult
    serializer_class = ExamResultListSerializer


@extend_schema(
    tags=[TAG],
    summary="A checkup report of a person bound to the account (opening it marks it read)",
    parameters=[HOSPITAL_PARAMETER],
    responses={200: CheckupReportSerializer, 404: ERROR_RESPONSE},
)
class CheckupReportView(_ReportDetail):
    """One checkup report; 404 unless its person is bound to the account."""

    model = CheckupReport
    serializer_class = CheckupReportSerializer


@extend_schema(
    tags=[TAG],
    summary="An examination result of a person bound to the account (opening it marks it read)",
    parameters=[HOSPITAL_PARAMETER],
    responses={200: ExamResultSerializer, 404: ERROR_RESPONSE},
)
class ExamResultView(_ReportDetail):
    """One examination result; 404 unless its person is bound to the account."""

    model = ExamResult
    serializer_class = ExamResultSerializer


class CheckupReportPdfView(_ReportDetail):
    """The report's PDF, streamed; fetched from the HIS first if we do not hold it yet."""

    model = CheckupReport

    def perform_content_negotiation(self, request, force=False):
        # A client asking for application/pdf still gets errors, rendered as JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        tags=[TAG],
        summary="The checkup report's PDF (the person must be bound to the account)",
        parameters=[HOSPITAL_PARAMETER],
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The signed report."),
            404: ERROR_RESPONSE,
            503: ERROR_RESPONSE,
        },
    )
    def get(self, request, hospital: str, pk: int):
        report = services.report_pdf_fetch(report=self.get_report(pk))
        services.report_viewed(report=report)
        response = FileResponse(report.pdf.open("rb"), content_type="application/pdf", filename=f"{report.number}.pdf")
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response


urlpatterns = [
    path("reports/checkups/", CheckupReportListView.as_view(), name="patient-checkup-reports"),
    path("reports/checkups/<int:pk>/", CheckupReportView.as_view(), name="patient-checkup-report"),
    path("reports/checkups/<int:pk>/pdf/", CheckupReportPdfView.as_view(), name="patient-checkup-report-pdf"),
    path("reports/exams/", ExamResultListView.as_view(), name="patient-exam-results"),
    path("reports/exams/<int:pk>/", ExamResultView.as_view(), name="patient-exam-result"),
]

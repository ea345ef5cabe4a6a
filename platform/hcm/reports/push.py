"""The HIS's push of new reports: POST /api/v1/<hospital>/reports/his-push/.

The HIS calls us (no sign-in, no CSRF) the moment reports are ready or corrected, with the body
of its `GET /reports` answer ({"checkup_reports": [...], "exam_results": [...]}, the shapes
below and in hcm.his.wire_reports), `X-HIS-Timestamp: <Unix seconds>` and
`X-HIS-Signature: sha256=<hex HMAC-SHA256 of the timestamp, ".", and the raw body>`, keyed
with the secret in the environment variable the hospital's `integrations.his.push_secret_env`
names. A wrong or missing signature, or a push more than 5 minutes old or ahead, answers 403;
the same signed push a second time answers 409 `replayed_push` (signatures are remembered in
the shared cache until they expire): each writes nothing. A report's version is its
`updated_at`: a version older than ours is not written (`outdated` in the answer), so a late or
replayed push cannot put back an earlier version of a corrected report.
"""

from django.core.exceptions import RequestDataTooBig
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from hcm.lowcode.api import ERROR_RESPONSE, HOSPITAL_PARAMETER
from hcm.lowcode.errors import DomainError
from hcm.lowcode.scoping import HospitalScopedMixin
from hcm.reports import services

SIGNATURE_HEADER = "X-HIS-Signature"
TIMESTAMP_HEADER = "X-HIS-Timestamp"


class PushAnswerSerializer(serializers.Serializer):
    stored = serializers.IntegerField(help_text="Reports whose pushed version we now hold (new, updated or unchanged).")
    new = serializers.IntegerField(help_text="Reports seen for the first time: their people were notified.")
    skipped = serializers.IntegerField(help_text="Reports of people with no patient record on the platform.")
    outdated = serializers.IntegerField(
        help_text="Reports older (by updated_at) than the version we hold: not written."
    )


# --- The body's shape, for the schema only: hcm.his.wire_reports decodes it. --------------

_UPDATED_AT = (
    "When the HIS last changed the report (ISO 8601 with offset). A correction carries a later one; "
    "a version older than ours is not written. Optional: absent means `reported_at`."
)


class PushedSectionSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="e.g. 一般检查, 腹部彩超")
    findings = serializers.CharField(allow_blank=True)


class PushedCheckupReportSerializer(serializers.Serializer):
    report_number = serializers.CharField(help_text="Unique in the HIS; the same number again is a new version.")
    his_patient_id = serializers.CharField()
    medical_card_number = serializers.CharField(help_text="Matches the report to our patient record.")
    title = serializers.CharField()
    checkup_date = serializers.DateField()
    summary = serializers.CharField(allow_blank=True)
    sections = PushedSectionSerializer(many=True)
    conclusions = serializers.ListField(child=serializers.CharField())
    has_pdf = serializers.BooleanField(help_text="The PDF is fetched from GET /checkup-reports/<number>/pdf.")
    reported_at = serializers.DateTimeField(help_text="When it became ready (ISO 8601 with offset).")
    updated_at = serializers.DateTimeField(required=False, help_text=_UPDATED_AT)


class PushedExamItemSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.CharField(allow_blank=True, help_text='As printed: "5.6", "阴性", ">1000".')
    unit = serializers.CharField(allow_blank=True)
    reference_range = serializers.CharField(allow_blank=True)
    abnormal = serializers.ChoiceField(choices=["", "high", "low"], required=False, allow_blank=True)


class PushedExamResultSerializer(serializers.Serializer):
    result_number = serializers.CharField(help_text="Unique in the HIS; the same number again is a new version.")
    his_patient_id = serializers.CharField()
    medical_card_number = serializers.CharField()
    name = serializers.CharField(help_text="e.g. 血常规")
    department = serializers.CharField(allow_blank=True)
    sampled_at = serializers.DateTimeField()
    reported_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField(required=False, help_text=_UPDATED_AT)
    items = PushedExamItemSerializer(many=True)


class PushBodySerializer(serializers.Serializer):
    checkup_reports = PushedCheckupReportSerializer(many=True)
    exam_results = PushedExamResultSerializer(many=True)


class HisPushView(HospitalScopedMixin, APIView):
    """Called by the HIS, not by patients: authenticated by the body's HMAC signature alone."""

    feature = "reports"
    authentication_classes = []  # the signature is the authentication
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["HIS · push"],
        summary="New or corrected reports pushed by the HIS, signed with HMAC-SHA256 over timestamp and body",
        description=(
            "The body is the HIS's `GET /reports` answer. Each push is accepted once: the same signed "
            "request again answers 409 `replayed_push`, so a retry is signed anew with a new timestamp. "
            "A report whose `updated_at` is older than the version we hold is not written (`outdated`)."
        ),
        parameters=[
            HOSPITAL_PARAMETER,
            OpenApiParameter(
                SIGNATURE_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description='"sha256=" and the hex HMAC-SHA256 of the timestamp, ".", and the raw body, '
                "keyed with the push secret.",
            ),
            OpenApiParameter(
                TIMESTAMP_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="When the HIS sent the push, in Unix seconds; more than 5 minutes off is refused.",
            ),
        ],
        request=PushBodySerializer,
        responses={
            200: PushAnswerSerializer,
            400: ERROR_RESPONSE,
            403: ERROR_RESPONSE,
            404: ERROR_RESPONSE,
            409: ERROR_RESPONSE,
            413: ERROR_RESPONSE,
        },
    )
    def post(self, request, hospital: str):
        try:
            body = request.body
        except RequestDataTooBig:
            raise DomainError(
                _("Too many reports in one push; please send fewer at a time."), code="too_large", status=413
            )
        outcome = services.reports_push(
            hospital=self.hospital,
            body=body,
            signature=request.headers.get(SIGNATURE_HEADER, ""),
            timestamp=request.headers.get(TIMESTAMP_HEADER, ""),
        )
        return Response(PushAnswerSerializer(outcome.as_dict()).data)


urlpatterns = [path("his-push/", HisPushView.as_view(), name="reports-his-push")]

"""The HIS's push of new reports: POST /api/v1/<hospital>/reports/his-push/.

The HIS calls us (no sign-in, no CSRF) the moment reports are ready, with the body of its
`GET /reports` answer ({"checkup_reports": [...], "exam_results": [...]}, see hcm.his.http)
`X-HIS-Timestamp: <Unix seconds>` and `X-HIS-Signature: sha256=<hex HMAC-SHA256 of the
timestamp, ".", and the raw body>`, keyed with the secret in the environment variable the
hospital's `integrations.his.push_secret_env` names. A wrong or missing signature, or a push
more than 5 minutes old (a replay), answers 403 and writes nothing; the same push twice stores
the same rows and announces nothing new.
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
    stored = serializers.IntegerField(help_text="Reports written (new or updated).")
    new = serializers.IntegerField(help_text="Reports seen for the first time: their people were notified.")
    skipped = serializers.IntegerField(help_text="Reports of people with no patient record on the platform.")


class HisPushView(HospitalScopedMixin, APIView):
    """Called by the HIS, not by patients: authenticated by the body's HMAC signature alone."""

    feature = "reports"
    authentication_classes = []  # the signature is the authentication
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["HIS · push"],
        summary="New reports pushed by the hospital's HIS, signed with HMAC-SHA256 over timestamp and body",
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
                description="When the HIS sent the push, in Unix seconds; older than 5 minutes is refused.",
            ),
        ],
        request={"application/json": OpenApiTypes.OBJECT},
        responses={200: PushAnswerSerializer, 400: ERROR_RESPONSE, 403: ERROR_RESPONSE, 404: ERROR_RESPONSE},
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

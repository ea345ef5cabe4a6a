"""`Authorization: Bearer <key>`: the patient API token issued at sign-in."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from hcm.patients.models import PatientToken


class PatientTokenAuthentication(authentication.TokenAuthentication):
    keyword = "Bearer"
    model = PatientToken

    def authenticate_credentials(self, key):
        token = PatientToken.objects.for_key(key).select_related("account__hospital").first()
        if token is None:
            raise exceptions.AuthenticationFailed(_("Sign-in failed or has expired; please sign in again."))
        return token.account, token

    def authenticate_header(self, request):
        return self.keyword


class PatientTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema (and Swagger UI's Authorize button) describes the patient token."""

    target_class = PatientTokenAuthentication
    name = "patientToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The token of POST /api/v1/{hospital}/patient/auth/wechat/ (or auth/sandbox/ in demos).",
        }

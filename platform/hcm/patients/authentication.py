"""`Authorization: Bearer <key>`: the patient API token issued at sign-in."""

from django.utils.translation import gettext_lazy as _
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

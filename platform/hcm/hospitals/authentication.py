"""`Authorization: Token <key>`: an operator's staff API token (django-rest-knox).

Only the token's SHA-512 digest is stored; a token expires `HCM_STAFF_TOKEN_TTL` seconds after
it was issued and signing out deletes it.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from rest_framework import exceptions


class StaffTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, token: bytes):
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:  # knox would let it escape as a 500
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        return super().authenticate_credentials(token)


class StaffTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema (and Swagger UI's Authorize button) describes the staff token."""

    target_class = StaffTokenAuthentication
    name = "staffToken"

    def get_security_definition(self, auto_schema):
        scheme = build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")
        scheme["description"] = (
            "Type `Token <key>` with the token of POST /api/v1/staff/token/; it expires at the answer's "
            "`expiry`, and POST /api/v1/staff/token/sign-out/ revokes it."
        )
        return scheme

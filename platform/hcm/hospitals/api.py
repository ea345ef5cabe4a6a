"""Operators obtain their staff API token with their admin username and password, and revoke it.

Tokens are django-rest-knox's: only a digest is stored, each expires after
`HCM_STAFF_TOKEN_TTL` seconds, and signing out deletes it.
"""

from drf_spectacular.utils import extend_schema
from knox.views import LoginView, LogoutAllView, LogoutView
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer  # the serializer only; no token model
from rest_framework.permissions import AllowAny

from hcm.hospitals.authentication import StaffTokenAuthentication
from hcm.lowcode.api import ERROR_RESPONSE
from hcm.lowcode.throttling import limit

TAG = "staff · sign-in"


class StaffTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`; it is shown only once.")
    expiry = serializers.DateTimeField(help_text="When the token stops working (HCM_STAFF_TOKEN_TTL after sign-in).")


class StaffTokenView(LoginView):
    """POST username and password; the answer's token goes in `Authorization: Token <key>` until `expiry`."""

    throttle_classes = [limit("staff_sign_in", by_account=False, targets=("username",))]
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=[TAG],
        summary="Obtain a staff API token (expires; only its digest is stored)",
        request=AuthTokenSerializer,
        responses={200: StaffTokenSerializer, 400: ERROR_RESPONSE, 429: ERROR_RESPONSE},
    )
    def post(self, request, format=None):
        credentials = AuthTokenSerializer(data=request.data, context={"request": request})
        credentials.is_valid(raise_exception=True)
        request.user = credentials.validated_data["user"]  # no session: the token is the sign-in
        return super().post(request, format=format)


class StaffSignOutView(LogoutView):
    authentication_classes = [StaffTokenAuthentication]

    @extend_schema(tags=[TAG], summary="Revoke this token", request=None, responses={204: None, 401: ERROR_RESPONSE})
    def post(self, request, format=None):
        return super().post(request, format=format)


class StaffSignOutEverywhereView(LogoutAllView):
    authentication_classes = [StaffTokenAuthentication]

    @extend_schema(
        tags=[TAG],
        summary="Revoke every staff token of this operator",
        request=None,
        responses={204: None, 401: ERROR_RESPONSE},
    )
    def post(self, request, format=None):
        return super().post(request, format=format)

"""Operators obtain their staff API token with their admin username and password."""

from drf_spectacular.utils import extend_schema
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.throttling import ScopedRateThrottle


class StaffTokenView(ObtainAuthToken):
    """POST username and password; the answer's token goes in `Authorization: Token <key>`."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "staff_token"
    authentication_classes = []

    @extend_schema(tags=["staff · sign-in"])
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

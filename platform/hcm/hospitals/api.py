"""Operators obtain their staff API token with their admin username and password."""

from drf_spectacular.utils import extend_schema
from rest_framework.authtoken.views import ObtainAuthToken

from hcm.lowcode.throttling import limit


class StaffTokenView(ObtainAuthToken):
    """POST username and password; the answer's token goes in `Authorization: Token <key>`."""

    throttle_classes = [limit("staff_sign_in", by_account=False, targets=("username",))]
    authentication_classes = []

    @extend_schema(tags=["staff · sign-in"])
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

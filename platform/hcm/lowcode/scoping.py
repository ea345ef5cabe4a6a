"""Resolving the hospital of an API request, shared by generated and hand-written views."""

from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound

from hcm.hospitals.models import Hospital


def resolve_hospital(code: str, *, feature: str | None) -> Hospital:
    """The active hospital `code` with `feature` switched on, else 404 (no hint of which)."""
    hospital = Hospital.objects.filter(code=code, is_active=True).first()
    if hospital is None or not hospital.has_feature(feature):
        raise NotFound(_("The requested item does not exist."))
    return hospital


class HospitalScopedMixin:
    """Sets `self.hospital` from the URL before authentication and permissions run.

    The row is read on every request, so a configuration change takes effect on the next
    request in every process.
    """

    feature: str | None = None
    hospital: Hospital

    def initial(self, request, *args, **kwargs):
        self.hospital = resolve_hospital(kwargs.get("hospital", ""), feature=self.feature)
        request.hospital = self.hospital
        super().initial(request, *args, **kwargs)

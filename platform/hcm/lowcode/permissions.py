"""Who may use each API scope."""

from django.contrib.auth import get_user_model
from rest_framework.permissions import BasePermission

from hcm.hospitals import tenancy

_ACTION_PERMS = {
    "list": "view",
    "retrieve": "view",
    "create": "add",
    "update": "change",
    "partial_update": "change",
    "destroy": "delete",
}


def is_operator(user) -> bool:
    return isinstance(user, get_user_model()) and user.is_active and user.is_staff


def is_patient_of(user, hospital) -> bool:
    return getattr(user, "is_patient", False) and user.hospital_id == hospital.pk


class StaffPermission(BasePermission):
    """An operator whose role at this hospital grants the model permission the action needs.

    Roles are per hospital: a content editor at one hospital who is a cashier at another
    edits content only at the first.
    """

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not is_operator(user) or not tenancy.can_access_hospital(user, view.hospital.pk):
            return False
        model = view.resource.model
        action = _ACTION_PERMS.get(view.action, "change")
        perm = f"{model._meta.app_label}.{action}_{model._meta.model_name}"
        return user.is_superuser or perm in tenancy.hospital_permissions(user, view.hospital.pk)


class PatientPermission(BasePermission):
    """A signed-in patient (WeChat account) of this hospital; rows are filtered to their own."""

    def has_permission(self, request, view) -> bool:
        return is_patient_of(request.user, view.hospital)

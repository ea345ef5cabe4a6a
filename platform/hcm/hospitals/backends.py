"""Authentication backend whose permissions come from the operator's hospital roles."""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission

from hcm.hospitals.roles import ALL, Role, role_grants
from hcm.hospitals.tenancy import operator_roles


def _permissions_by_app() -> dict[str, list[tuple[str, str, str]]]:
    """(codename, action, model) per app label, from the permission table."""
    result: dict[str, list[tuple[str, str, str]]] = {}
    rows = Permission.objects.values_list("content_type__app_label", "content_type__model", "codename")
    for app_label, model, codename in rows:
        action = codename.split("_", 1)[0]
        result.setdefault(app_label, []).append((codename, action, model))
    return result


def role_permissions(roles: set[str]) -> set[str]:
    """The "app_label.codename" permissions granted by a set of roles."""
    if Role.PLATFORM_ADMIN in roles:
        return {f"{app}.{codename}" for app, rows in _permissions_by_app().items() for codename, _a, _m in rows}
    granted: set[str] = set()
    by_app = _permissions_by_app()
    for role in roles:
        grants = role_grants(role)
        for app_label in {key.split(".")[0] for key in grants}:
            for codename, action, model in by_app.get(app_label, []):
                grant = grants.get(f"{app_label}.{model}", grants.get(app_label, ()))
                if grant == ALL or action in grant:
                    granted.add(f"{app_label}.{codename}")
    return granted


class RoleBackend(ModelBackend):
    """Username/password sign-in; permissions from roles (plus any granted directly)."""

    def get_all_permissions(self, user_obj, obj=None):
        """Permissions held at any hospital; per-hospital checks use tenancy.hospital_permissions."""
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_hcm_role_perm_cache"):
            roles = operator_roles(user_obj) | ({Role.PLATFORM_ADMIN} if user_obj.is_superuser else set())
            user_obj._hcm_role_perm_cache = role_permissions(roles)
        return user_obj._hcm_role_perm_cache

    def has_module_perms(self, user_obj, app_label):
        return user_obj.is_active and any(p.startswith(app_label + ".") for p in self.get_all_permissions(user_obj))

"""Which hospitals an operator may see: the one security boundary between tenants.

Every admin queryset, every staff API queryset, every foreign-key dropdown and every import
goes through `visible_hospital_ids`. Results are cached on the user object, which lives
for one request.
"""

from django.db.models import QuerySet

from hcm.hospitals.roles import Role

ALL_HOSPITALS = None  # marker: a platform admin sees every hospital


def _memberships(user) -> list[tuple[int | None, str]]:
    cached = getattr(user, "_hcm_memberships", None)
    if cached is None:
        if not getattr(user, "is_authenticated", False) or not hasattr(user, "memberships"):
            cached = []
        else:
            cached = list(user.memberships.values_list("hospital_id", "role"))
        user._hcm_memberships = cached
    return cached


def operator_roles(user, hospital_id: int | None = None) -> set[str]:
    """The roles of an operator, at one hospital or at any."""
    roles = set()
    for member_hospital_id, role in _memberships(user):
        if role == Role.PLATFORM_ADMIN or hospital_id is None or member_hospital_id == hospital_id:
            roles.add(role)
    return roles


def is_platform_admin(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or Role.PLATFORM_ADMIN in operator_roles(user)


def visible_hospital_ids(user) -> set[int] | None:
    """The hospitals an operator works for, or ALL_HOSPITALS for a platform admin."""
    if is_platform_admin(user):
        return ALL_HOSPITALS
    return {hospital_id for hospital_id, _role in _memberships(user) if hospital_id is not None}


def can_access_hospital(user, hospital_id: int) -> bool:
    ids = visible_hospital_ids(user)
    return ids is ALL_HOSPITALS or hospital_id in ids


def scope_to_operator(queryset: QuerySet, user, *, tenant_field: str = "hospital") -> QuerySet:
    """Restrict a queryset of tenant rows to the operator's hospitals."""
    ids = visible_hospital_ids(user)
    if ids is ALL_HOSPITALS:
        return queryset
    lookup = "pk__in" if tenant_field == "" else f"{tenant_field}__in"
    return queryset.filter(**{lookup: ids})


def operator_hospitals(user) -> list:
    """The Hospital rows an operator works for (every hospital for a platform admin)."""
    cached = getattr(user, "_hcm_hospitals", None)
    if cached is None:
        from hcm.hospitals.models import Hospital

        ids = visible_hospital_ids(user)
        queryset = Hospital.objects.filter(is_active=True)
        if ids is not ALL_HOSPITALS:
            queryset = queryset.filter(pk__in=ids)
        cached = list(queryset)
        user._hcm_hospitals = cached
    return cached


def hospitals_with_feature(user, feature: str | None) -> list:
    """The operator's hospitals whose configuration switches `feature` on."""
    return [h for h in operator_hospitals(user) if h.has_feature(feature)]


def hospital_permissions(user, hospital_id: int) -> set[str]:
    """The permissions an operator holds at one hospital (roles are per hospital)."""
    from hcm.hospitals.backends import role_permissions

    roles = frozenset(operator_roles(user, hospital_id))
    if getattr(user, "is_superuser", False):
        roles = frozenset({Role.PLATFORM_ADMIN})
    cache = user.__dict__.setdefault("_hcm_role_perms", {})
    if roles not in cache:
        cache[roles] = role_permissions(set(roles))
    return cache[roles]


def hospitals_with_permission(user, perm: str, feature: str | None = None) -> list:
    """The operator's hospitals where they hold `perm` ("app.codename") and `feature` is on."""
    return [h for h in hospitals_with_feature(user, feature) if perm in hospital_permissions(user, h.pk)]

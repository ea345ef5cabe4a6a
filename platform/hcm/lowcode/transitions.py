"""Running FSM transitions: one service for the admin, the API and tasks.

A model declares its transitions with django-fsm-2. Their `custom` dict may carry:
  label      what buttons show (translated)
  form       a Django form class for the transition's input (the admin form and the API
             body are both validated with it); its cleaned data become keyword arguments
  service    a dotted path to a service `fn(*, obj, actor, **input)` that owns the whole
             change, for transitions with effects beyond the row (payments, notifications)
  admin/api  False hides the transition there (default True)
Conditions are pure functions; `@condition(message)` attaches the reason shown on refusal.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import django_fsm
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from hcm.hospitals import tenancy
from hcm.lowcode.models import TransitionLog


def condition(message: str) -> Callable[[Callable], Callable]:
    """Attach the refusal message to a pure FSM condition."""

    def decorate(func: Callable) -> Callable:
        func.refusal_message = message
        return func

    return decorate


class TransitionRefused(Exception):
    """The transition is not allowed now; `reason` says why in the patient's language."""

    def __init__(self, reason: str, *, code: str = "transition_not_allowed"):
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclass(frozen=True)
class TransitionInfo:
    name: str
    field: str
    sources: tuple[str, ...]
    target: Any
    transition: django_fsm.Transition

    @property
    def custom(self) -> dict:
        return self.transition.custom or {}

    @property
    def label(self) -> str:
        return str(self.custom.get("label") or self.name)

    @property
    def form(self):
        form = self.custom.get("form")
        return import_string(form) if isinstance(form, str) else form


def fsm_fields(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.fields if isinstance(f, django_fsm.FSMFieldMixin)]


@functools.cache
def model_transitions(model: type[models.Model]) -> dict[str, TransitionInfo]:
    """Every transition a model declares, by method name (collected once per model: django-fsm
    fixes them when the class is created, and staff lists ask for every row)."""
    found: dict[str, TransitionInfo] = {}
    for field_name in fsm_fields(model):
        field = model._meta.get_field(field_name)
        for t in field.get_all_transitions(model):
            info = found.get(t.name)
            sources = (t.source,) if info is None else (*info.sources, t.source)
            found[t.name] = TransitionInfo(t.name, field_name, sources, t.target, t)
    return found


def refusal_reason(obj: models.Model, info: TransitionInfo) -> str | None:
    """Why the transition cannot run on `obj` now, or None when it can."""
    state = getattr(obj, info.field)
    meta = getattr(obj, info.name)._django_fsm
    if not meta.has_transition(state):
        label = _state_label(obj, info.field)
        return _("This operation is not allowed while the status is “%(state)s”.") % {"state": label}
    transition = meta.get_transition(state)
    for cond in transition.conditions:
        if not cond(obj):
            return str(getattr(cond, "refusal_message", None) or _("The conditions for this operation are not met."))
    return None


def _state_label(obj: models.Model, field: str) -> str:
    getter = getattr(obj, f"get_{field}_display", None)
    return str(getter()) if getter else str(getattr(obj, field))


def allowed_transitions(obj: models.Model, user, *, surface: str) -> list[TransitionInfo]:
    """Transitions that `user` may run on `obj` now, on the `admin` or `api` surface."""
    result = []
    for info in model_transitions(type(obj)).values():
        if info.custom.get(surface, True) is False:
            continue
        if refusal_reason(obj, info) is None and _has_permission(obj, info, user):
            result.append(info)
    return result


def _has_permission(obj, info: TransitionInfo, user) -> bool:
    """Operators need the transition's permission at the row's hospital; other actors are
    the system or a patient, whom the caller's scope has already authorised."""
    if user is None or not isinstance(user, get_user_model()):
        return True
    transition = getattr(obj, info.name)._django_fsm.get_transition(getattr(obj, info.field))
    permission = transition.permission if transition else None
    if permission is None or callable(permission):
        return transition is not None and transition.has_perm(obj, user)
    return user.is_superuser or permission in tenancy.hospital_permissions(user, obj.hospital_id)


def actor_label(actor) -> str:
    if actor is None:
        return "system"
    return str(getattr(actor, "get_username", lambda: actor)())


def transition_apply(*, obj: models.Model, name: str, actor, data: dict | None = None) -> models.Model:
    """Run transition `name` on a locked fresh copy of `obj`, save it and log it; all or nothing."""
    model = type(obj)
    info = model_transitions(model).get(name)
    if info is None:
        raise TransitionRefused(_("Unknown operation."), code="unknown_transition")
    data = data or {}
    with transaction.atomic():
        locked = model._default_manager.select_for_update().get(pk=obj.pk)
        reason = refusal_reason(locked, info)
        if reason:
            raise TransitionRefused(reason)
        if not _has_permission(locked, info, actor):
            raise PermissionDenied(_("You do not have permission to do this."))
        source = getattr(locked, info.field)
        service = info.custom.get("service")
        if service:
            locked = import_string(service)(obj=locked, actor=actor, **data) or locked
        else:
            getattr(locked, name)(**data)
            locked.save()
        TransitionLog.objects.create(
            hospital_id=locked.hospital_id,
            content_type=ContentType.objects.get_for_model(model),
            object_id=str(locked.pk),
            transition=name,
            source_state=source,
            target_state=getattr(locked, info.field),
            actor=actor if isinstance(actor, get_user_model()) else None,
            actor_label=actor_label(actor),
            data={k: str(v) for k, v in data.items()},
        )
    return locked


__all__ = [
    "TransitionInfo",
    "TransitionRefused",
    "allowed_transitions",
    "condition",
    "fsm_fields",
    "model_transitions",
    "refusal_reason",
    "transition_apply",
]

"""Checks that a row only points at rows of its own hospital."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _


def is_tenant_model(model: type[models.Model]) -> bool:
    try:
        field = model._meta.get_field("hospital")
    except Exception:
        return False
    return isinstance(field, models.ForeignKey) and field.related_model._meta.label_lower == "hospitals.hospital"


def tenant_relations(model: type[models.Model]) -> list[models.Field]:
    """Foreign keys and many-to-manys of `model` that point at other hospitals' rows."""
    return [
        f
        for f in model._meta.get_fields()
        if (f.many_to_one or f.many_to_many)
        and f.concrete
        and f.name != "hospital"
        and is_tenant_model(f.related_model)
    ]


def same_hospital_errors(model: type[models.Model], hospital_id: int | None, values: dict) -> dict[str, str]:
    """Errors for related values (by field name) that belong to another hospital."""
    errors = {}
    for field in tenant_relations(model):
        value = values.get(field.name)
        related = list(value) if field.many_to_many and value is not None else [value]
        if any(obj is not None and obj.hospital_id != hospital_id for obj in related):
            errors[field.name] = _("Choose an item of the same hospital.")
    return errors


def check_same_hospital(model: type[models.Model], hospital_id: int | None, values: dict) -> None:
    errors = same_hospital_errors(model, hospital_id, values)
    if errors:
        raise ValidationError(errors)

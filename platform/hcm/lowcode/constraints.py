"""A model's unique constraints, checked on an API write before the database sees them.

DRF derives unique validators only for constraints whose every field is input; here the hospital
(and a patient's own account) comes from the URL, so `(hospital, title)` would reach the database
and fail there as an IntegrityError (a 500). Instead the row about to be saved is assembled (the
instance, the validated input, the values the view sets) and each unique constraint Django knows
for the model (unique fields, unique_together, UniqueConstraint, conditions included) validates
it, naming the input fields it concerns. The database stays the last word against races.

Check constraints across fields are the model's own `clean()` (see catalog's CheckedOnSave), which
knows which field to name.
"""

import copy
import functools

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models

NON_FIELD = "non_field_errors"


@functools.cache
def model_constraints(model: type[models.Model]) -> tuple[models.UniqueConstraint, ...]:
    """Every unique constraint a save of `model` must meet, however the model declares it."""
    found = [
        models.UniqueConstraint(fields=[f.name], name=f"{f.name}_unique")
        for f in model._meta.concrete_fields
        if f.unique and not f.primary_key
    ]
    found += [
        models.UniqueConstraint(fields=list(group), name="_".join(group) + "_unique")
        for group in model._meta.unique_together
    ]
    found += [c for c in model._meta.constraints if isinstance(c, models.UniqueConstraint)]
    return tuple(found)


def _concerned_fields(constraint: models.UniqueConstraint) -> list[str]:
    """The model fields a constraint reads (its fields first), for naming and for skipping."""
    names = list(constraint.fields)
    if constraint.condition is not None:
        names += sorted(constraint.condition.referenced_base_fields - set(names))
    return names


def candidate_row(model: type[models.Model], *, instance, values: dict) -> models.Model:
    """The row a save would write: a copy of `instance` (or a new row) with `values` set on it."""
    row = copy.copy(instance) if instance is not None else model()
    for name, value in values.items():
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if field.concrete and not field.many_to_many:
            setattr(row, name, value)
    return row


def constraint_errors(row: models.Model, *, inputs: dict[str, str], changed: set[str] | None) -> dict[str, list[str]]:
    """Messages by input name for each constraint `row` would break.

    `inputs` maps model fields to the input names clients send; `changed` limits the check to
    constraints reading those fields (an update), None checks every one (a new row).
    """
    model = type(row)
    errors: dict[str, list[str]] = {}
    for constraint in model_constraints(model):
        concerned = _concerned_fields(constraint)
        if changed is not None and concerned and not changed & set(concerned):
            continue
        try:
            constraint.validate(model, row)
        except ValidationError as error:
            named = [f for f in constraint.fields if f in inputs]
            message = _message(constraint, row, named, error)
            for name in [inputs[f] for f in named] or [NON_FIELD]:
                errors.setdefault(name, []).append(message)
    return errors


def _message(constraint: models.UniqueConstraint, row: models.Model, named: list[str], error: ValidationError) -> str:
    declared = constraint.violation_error_message != constraint.default_violation_error_message
    if constraint.fields and not declared:
        # "Banner with this title already exists." (the hospital goes without saying)
        return row.unique_error_message(type(row), tuple(named or constraint.fields)).messages[0]
    return str(error.messages[0])

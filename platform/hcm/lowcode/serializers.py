"""Serializers generated from a declaration's scope."""

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from hcm.lowcode.constraints import candidate_row, constraint_errors
from hcm.lowcode.declarations import Resource, Scope
from hcm.lowcode.tenancy_checks import is_tenant_model, same_hospital_errors
from hcm.lowcode.transitions import allowed_transitions, fsm_fields


class ModelSerializer(serializers.ModelSerializer):
    """DRF's, except that a read-only field with choices keeps its model field's blank and null.

    DRF leaves allow_blank off read-only fields, so the schema's enum would leave out the ""
    that an unpaid order's payment method or a checkup booking's session is. Every model
    serializer of the API derives from this one.
    """

    def get_fields(self):
        fields = super().get_fields()
        model = self.Meta.model
        for name, field in fields.items():
            source = field.source or name  # fields are not bound yet
            if not (isinstance(field, serializers.ChoiceField) and field.read_only) or "." in source:
                continue
            try:
                model_field = model._meta.get_field(source)
            except FieldDoesNotExist:
                continue
            field.allow_blank = field.allow_blank or model_field.blank
            field.allow_null = field.allow_null or model_field.null
        return fields


class TenantModelSerializer(ModelSerializer):
    """Related choices limited to the request's hospital; the hospital itself is never input.

    The model's unique constraints are validated here, with the values the view sets
    (context "preset": the hospital, a patient's account), so DRF's own unique-together
    validators, which skip constraints on fields that are not input, are switched off.
    """

    def get_fields(self):
        fields = super().get_fields()
        hospital = self.context.get("hospital")
        for field in fields.values():
            target = getattr(field, "child_relation", field)
            queryset = getattr(target, "queryset", None)
            if queryset is not None and hospital is not None and is_tenant_model(queryset.model):
                target.queryset = queryset.filter(hospital=hospital)
        return fields

    def validate(self, attrs):
        attrs = super().validate(attrs)
        hospital = self.context.get("hospital")
        errors = same_hospital_errors(self.Meta.model, getattr(hospital, "pk", None), attrs)
        if not errors:
            errors = self._constraint_errors(attrs)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def _constraint_errors(self, attrs) -> dict:
        values = attrs if self.instance is not None else {**self.context.get("preset", {}), **attrs}
        row = candidate_row(self.Meta.model, instance=self.instance, values=values)
        inputs = {field.source: name for name, field in self.fields.items() if not field.read_only}
        return constraint_errors(row, inputs=inputs, changed=None if self.instance is None else set(attrs))


@extend_schema_field(serializers.ListField(child=serializers.CharField()))
class TransitionNamesField(serializers.Field):
    """The transitions the requesting operator may run on the row now."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, obj):
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return [t.name for t in allowed_transitions(obj, user, surface="api")]


def _choice_fields(model: type[models.Model], names: list[str]) -> list[str]:
    result = []
    for name in names:
        try:
            field = model._meta.get_field(name)
        except Exception:
            continue
        if getattr(field, "choices", None) and field.concrete:
            result.append(name)
    return result


def _may_be_null(model: type[models.Model], dotted: str) -> bool:
    """Whether `a.b.c` can be None: a nullable relation on the way, or a nullable last field."""
    for part in dotted.split("."):
        if model is None:
            return False
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:  # a property or method: its own business
            return False
        if field.null:
            return True
        model = field.related_model
    return False


_BUILT: dict[tuple[str, str, bool], type[serializers.ModelSerializer]] = {}


def serializer_for(
    model: type[models.Model], scope_name: str, *, rows: bool = False
) -> type[serializers.ModelSerializer]:
    """The generated serializer of a model's scope (`rows`: its list-row variant), for reuse."""
    from hcm.lowcode.declarations import resource_for

    resource = resource_for(model)
    return build_serializer(resource, scope_name, resource.scopes[scope_name], rows=rows)


def build_serializer(
    resource: Resource, scope_name: str, scope: Scope, *, rows: bool = False
) -> type[serializers.ModelSerializer]:
    """One class per (model, scope, variant), built once: the OpenAPI schema names it."""
    rows = rows and scope.list_fields is not None
    key = (resource.label, scope_name, rows)
    if key not in _BUILT:
        fields = list(scope.list_fields if rows else scope.fields)
        suffix = "Row" if rows else ""
        _BUILT[key] = _build_serializer(resource, scope_name, scope, fields, suffix)
    return _BUILT[key]


def _build_serializer(
    resource: Resource, scope_name: str, scope: Scope, fields: list[str], suffix: str
) -> type[serializers.ModelSerializer]:
    model = resource.model
    plain = [n for n in fields if "." not in n]
    attrs: dict = {}
    names = list(plain)
    for dotted in (n for n in fields if "." in n):
        name = dotted.replace(".", "_")
        # allow_null: DRF leaves a field out (not null) when a relation on the way is None.
        attrs[name] = serializers.ReadOnlyField(source=dotted, allow_null=_may_be_null(model, dotted))
        names.append(name)
    for name in _choice_fields(model, plain):
        attrs[f"{name}_label"] = serializers.CharField(source=f"get_{name}_display", read_only=True)
        names.append(f"{name}_label")
    if scope_name == "staff" and scope.transitions and fsm_fields(model):
        attrs["transitions"] = TransitionNamesField(help_text="Operations the operator may run now.")
        names.append("transitions")
    read_only = {*scope.read_only, *fsm_fields(model), resource.tenant_field, "id"}
    if scope.owner:
        read_only.add(scope.owner.split("__")[0])
    meta = type(
        "Meta",
        (),
        {"model": model, "fields": names, "read_only_fields": sorted(read_only & set(plain)), "validators": []},
    )
    attrs["Meta"] = meta
    name = f"{model.__name__}{scope_name.title()}{suffix}Serializer"
    return type(name, (TenantModelSerializer,), attrs)


def form_to_serializer(form_class, name: str) -> type[serializers.Serializer]:
    """A serializer mirroring a transition form, so the schema documents the API body."""
    from django import forms

    mapping = [
        (forms.BooleanField, serializers.BooleanField),
        (forms.IntegerField, serializers.IntegerField),
        (forms.DecimalField, serializers.DecimalField),
        (forms.DateTimeField, serializers.DateTimeField),
        (forms.DateField, serializers.DateField),
        (forms.ChoiceField, serializers.ChoiceField),
        (forms.CharField, serializers.CharField),
    ]
    attrs = {}
    for field_name, field in form_class.base_fields.items():
        serializer_cls = next((s for f, s in mapping if isinstance(field, f)), serializers.CharField)
        kwargs = {"required": field.required, "help_text": str(field.help_text or field.label or "")}
        if serializer_cls is serializers.ChoiceField:
            kwargs["choices"] = [c for c in field.choices if c[0] != ""]
        if serializer_cls is serializers.DecimalField:
            kwargs.update(max_digits=field.max_digits or 12, decimal_places=field.decimal_places or 2)
        if serializer_cls is serializers.CharField:
            kwargs.update(allow_blank=not field.required, max_length=getattr(field, "max_length", None))
        attrs[field_name] = serializer_cls(**kwargs)
    return type(name, (serializers.Serializer,), attrs)

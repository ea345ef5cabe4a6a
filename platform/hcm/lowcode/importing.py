"""Import/export resources generated from declarations, confined to the operator's hospitals.

Rows name their hospital by code; related rows by their natural key within that hospital.
Lookups of existing rows, of hospitals and of related rows only ever see the hospitals the
importing operator works for, so a file cannot touch or reference another hospital's data.
"""

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from hcm.hospitals.models import Hospital
from hcm.lowcode.declarations import Resource, resource_for
from hcm.lowcode.tenancy_checks import check_same_hospital, is_tenant_model
from hcm.lowcode.transitions import fsm_fields


class TenantForeignKeyWidget(widgets.ForeignKeyWidget):
    """A related row found by natural key inside the row's own hospital."""

    def __init__(self, model, field, *, owner):
        super().__init__(model, field=field)
        self.owner = owner

    def get_queryset(self, value, row, *args, **kwargs):
        queryset = self.model.objects.filter(hospital__code=row.get("hospital"))
        return self.owner.limit_to_hospitals(queryset, "hospital_id")


class TenantManyToManyWidget(widgets.ManyToManyWidget):
    """Related rows named by natural key in one cell ("血常规,肝功能"), inside the row's own
    hospital; a name that matches nothing is an error, not silently dropped."""

    SEPARATORS = re.compile(r"[,，;；\n]")

    def __init__(self, model, field, *, owner):
        super().__init__(model, separator=",", field=field)
        self.owner = owner

    def get_queryset(self, value, row, *args, **kwargs):
        queryset = self.model.objects.filter(hospital__code=(row or {}).get("hospital"))
        return self.owner.limit_to_hospitals(queryset, "hospital_id")

    def clean(self, value, row=None, **kwargs):
        keys = [key.strip() for key in self.SEPARATORS.split(str(value or "")) if key.strip()]
        if not keys:
            return self.model.objects.none()
        found = self.get_queryset(value, row).filter(**{f"{self.field}__in": keys})
        missing = sorted(set(keys) - {str(getattr(obj, self.field)) for obj in found})
        if missing:
            raise ValueError(_("Not found: %(names)s.") % {"names": "、".join(missing)})
        return found


class HospitalWidget(widgets.ForeignKeyWidget):
    def __init__(self, *, owner):
        super().__init__(Hospital, field="code")
        self.owner = owner

    def get_queryset(self, value, row, *args, **kwargs):
        return self.owner.limit_to_hospitals(Hospital.objects.all(), "pk")

    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row, **kwargs)
        except Hospital.DoesNotExist:
            raise ValueError(_("Unknown hospital code “%(code)s”.") % {"code": value}) from None


class ChoiceWidget(widgets.CharWidget):
    """A choice read from its stored value or its label in any language (男 / Male / male);
    exported as the label of the operator's language, which imports back to the same value."""

    def __init__(self, choices):
        super().__init__()
        self.choices = list(choices)

    def clean(self, value, row=None, **kwargs):
        text = super().clean(value, row, **kwargs)
        text = (text or "").strip()
        if not text:
            return text
        for stored, label in self.choices:
            if text.lower() in {str(stored).lower(), str(label).lower(), _label_in_english(label).lower()}:
                return stored
        allowed = "、".join(str(label) for _stored, label in self.choices)
        raise ValueError(_("“%(value)s” is not one of: %(allowed)s.") % {"value": text, "allowed": allowed})

    def render(self, value, obj=None, **kwargs):
        return str(dict(self.choices).get(value, value or ""))


def _label_in_english(label) -> str:
    from django.utils import translation

    with translation.override("en"):
        return str(label)


class TenantModelResource(resources.ModelResource):
    """Base of generated resources; `hospital_ids=None` means every hospital.

    `on_row`, when set, is called with each row's number once the row is done (background
    imports report their progress through it)."""

    on_row = None

    def __init__(self, *, hospital_ids=None, default_hospital: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.hospital_ids = hospital_ids
        self.default_hospital = default_hospital
        for field in self.fields.values():
            if isinstance(field.widget, (TenantForeignKeyWidget, TenantManyToManyWidget, HospitalWidget)):
                field.widget.owner = self

    def limit_to_hospitals(self, queryset, lookup: str):
        if self.hospital_ids is None:
            return queryset
        return queryset.filter(**{f"{lookup}__in": self.hospital_ids})

    def get_queryset(self):
        return self.limit_to_hospitals(super().get_queryset(), "hospital_id")

    def before_import(self, dataset, **kwargs):
        # An operator of one hospital uploads files without a hospital column.
        if "hospital" not in (dataset.headers or []) and self.default_hospital:
            dataset.append_col([self.default_hospital] * len(dataset), header="hospital")
        super().before_import(dataset, **kwargs)

    def import_row(self, row, instance_loader, **kwargs):
        try:
            return super().import_row(row, instance_loader, **kwargs)
        finally:
            if self.on_row is not None:
                self.on_row(kwargs.get("row_number", 0))

    def before_import_row(self, row, **kwargs):
        if not row.get("hospital") and self.default_hospital:
            row["hospital"] = self.default_hospital

    def import_instance(self, instance, row, **kwargs):
        """As in django-import-export, plus many-to-many cells checked up front, so an unknown
        name shows in the preview as an error of its column (they are saved after the row)."""
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        for field in self.get_import_fields():
            if isinstance(field.widget, TenantManyToManyWidget) and field.column_name in row:
                try:
                    field.clean(row)
                except ValueError as error:
                    errors[field.attribute] = ValidationError(str(error), code="invalid")
        if errors:
            raise ValidationError(errors)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        """Model validation as in django-import-export, minus protected state fields, which
        `full_clean` would reassign and which only transitions may change."""
        errors = dict(import_validation_errors or {})
        try:
            instance.full_clean(exclude=[*errors, *fsm_fields(type(instance))], validate_unique=validate_unique)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def before_save_instance(self, instance, row, **kwargs):
        if self.hospital_ids is not None and instance.hospital_id not in self.hospital_ids:
            raise ValueError(_("You may only import rows of your own hospital."))
        values = {f.name: getattr(instance, f.name) for f in instance._meta.fields if f.many_to_one}
        check_same_hospital(type(instance), instance.hospital_id, values)


def _natural_key(model) -> str:
    declared = resource_for(model)
    keys = [k for k in (declared.import_id_fields if declared else ("id",)) if k != "hospital"]
    return keys[0] if len(keys) == 1 else "pk"


def build_import_resource(resource: Resource) -> type[TenantModelResource]:
    """A django-import-export ModelResource for the declared import fields."""
    model = resource.model
    names = list(resource.import_fields or ())
    attrs: dict = {}
    if resource.tenant_field == "hospital":
        names = ["hospital", *[n for n in names if n != "hospital"]]
        attrs["hospital"] = fields.Field(
            attribute="hospital", column_name="hospital", widget=HospitalWidget(owner=None)
        )
    for name in names:
        field = model._meta.get_field(name)
        if name != "hospital" and field.many_to_one and is_tenant_model(field.related_model):
            widget = TenantForeignKeyWidget(field.related_model, _natural_key(field.related_model), owner=None)
            attrs[name] = fields.Field(attribute=name, column_name=name, widget=widget)
        elif field.many_to_many and is_tenant_model(field.related_model):
            widget = TenantManyToManyWidget(field.related_model, _natural_key(field.related_model), owner=None)
            attrs[name] = fields.Field(attribute=name, column_name=name, widget=widget)
        elif getattr(field, "choices", None) and name not in fsm_fields(model):
            attrs[name] = fields.Field(attribute=name, column_name=name, widget=ChoiceWidget(field.choices))
        elif isinstance(field, models.TextField) and field.blank:
            # An empty spreadsheet cell is None; django-import-export blanks it for CharFields only.
            attrs[name] = fields.Field(attribute=name, column_name=name, widget=widgets.CharWidget(allow_blank=True))
    meta = type(
        "Meta",
        (),
        {
            "model": model,
            "fields": names,
            "export_order": names,
            "import_id_fields": list(resource.import_id_fields),
            "skip_unchanged": True,
            "report_skipped": True,
            "clean_model_instances": True,
        },
    )
    attrs["Meta"] = meta
    return type(f"{model.__name__}ImportResource", (*resource.resource_mixins, TenantModelResource), attrs)

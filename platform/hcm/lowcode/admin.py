"""The generated admin: one Unfold ModelAdmin per declaration, confined to the operator's hospitals."""

import re

from django.contrib import admin, messages
from django.contrib.admin import RelatedOnlyFieldListFilter
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.urls import URLPattern, path, register_converter
from django.urls.resolvers import RoutePattern
from django.utils.translation import gettext as _
from django_fsm.admin import FSMAdminMixin
from import_export.admin import ImportExportModelAdmin
from unfold.admin import ModelAdmin
from unfold.contrib.import_export.forms import ExportForm

from hcm.hospitals import tenancy
from hcm.lowcode.declarations import Resource, registry
from hcm.lowcode.import_admin import LimitedImportMixin
from hcm.lowcode.importing import build_import_resource
from hcm.lowcode.tenancy_checks import is_tenant_model, same_hospital_errors
from hcm.lowcode.transitions import TransitionRefused, fsm_fields, transition_apply


class ObjectIdConverter:
    """An object id that is a number, passed on as the string Django's admin views expect.

    `__fk__` is only there to be reversed: Django's related-object widgets build their change and
    delete links with it as a placeholder that their JavaScript replaces; it never resolves.
    """

    regex = "[0-9]+|__fk__"

    def to_python(self, value: str) -> str:
        if not value.isdigit():
            raise ValueError(value)  # no match: a 404
        return value

    def to_url(self, value) -> str:
        return str(value)


register_converter(ObjectIdConverter, "object_id")
_OBJECT_ID = re.compile(r"<(?:(?:path|str):)?(object_id|id)>")


class ObjectIdAdminMixin:
    """Object ids in this admin's URLs (change, delete, history, Unfold's detail actions, FSM
    transitions) are numbers when the model's key is one: any other id is a 404 before a view or a
    permission check reads it.

    Unfold passes the URL's id (a string) to the permission checks of detail actions where Django
    passes the row; `permission_object` turns either into the row (None when not visible).
    """

    def get_urls(self):
        urls = super().get_urls()
        if not isinstance(self.model._meta.pk, models.IntegerField):
            return urls
        return [_numeric_ids(url) for url in urls]

    def permission_object(self, request, obj):
        if obj is None or isinstance(obj, models.Model):
            return obj
        return self.get_object(request, unquote(str(obj)))


def _numeric_ids(url):
    if not isinstance(url, URLPattern) or not isinstance(url.pattern, RoutePattern):
        return url
    route = str(url.pattern)
    if not _OBJECT_ID.search(route):
        return url
    return path(_OBJECT_ID.sub(r"<object_id:\1>", route), url.callback, url.default_args, url.name)


class TenantAdminMixin(ObjectIdAdminMixin):
    """Rows, dropdowns, filters, imports and exports limited to the operator's hospitals.

    A hospital whose configuration switches the model's feature off is treated as absent.
    """

    feature: str | None = None
    tenant_field: str = "hospital"
    declared_select_related: tuple = ()

    def hospital_ids(self, request, action: str = "view") -> list[int]:
        """Hospitals where the operator holds `action` on this model and its feature is on."""
        perm = f"{self.opts.app_label}.{action}_{self.opts.model_name}"
        return [h.pk for h in tenancy.hospitals_with_permission(request.user, perm, self.feature)]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self.declared_select_related:
            queryset = queryset.select_related(*self.declared_select_related)
        return queryset.filter(**{f"{self.tenant_field}__in": self.hospital_ids(request)})

    def _allowed(self, request, action: str, obj=None) -> bool:
        ids = self.hospital_ids(request, action)
        if obj is None:
            return bool(ids)
        obj = self.permission_object(request, obj)
        return obj is not None and getattr(obj, f"{self.tenant_field}_id") in ids

    def has_module_permission(self, request):
        return self._allowed(request, "view") and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return (
            self._allowed(request, "view", obj) or self._allowed(request, "change", obj)
        ) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return self._allowed(request, "add") and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, "change", obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, "delete", obj) and super().has_delete_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs.setdefault("queryset", self._choices(db_field, request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs.setdefault("queryset", self._choices(db_field, request))
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def _choices(self, db_field, request):
        related = db_field.related_model
        queryset = related._default_manager.all()
        if related._meta.label_lower == "hospitals.hospital":
            writable = set(self.hospital_ids(request, "add")) | set(self.hospital_ids(request, "change"))
            return queryset.filter(pk__in=writable)
        if is_tenant_model(related):
            return queryset.filter(hospital__in=self.hospital_ids(request))
        if related._meta.label_lower == "auth.user" and not tenancy.is_platform_admin(request.user):
            return queryset.filter(memberships__hospital__in=self.hospital_ids(request)).distinct()
        return queryset

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and self.tenant_field == "hospital" and "hospital" not in fields:
            fields.append("hospital")  # a row never moves to another hospital: its relations stay behind
        return fields

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        ids = self.hospital_ids(request, "add")
        if self.tenant_field == "hospital" and len(ids) == 1:
            initial.setdefault("hospital", ids[0])
        return initial

    def get_list_filter(self, request):
        return [_tenant_safe_filter(self.model, spec) for spec in super().get_list_filter(request)]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        model = self.model

        class SameHospitalForm(form):
            def clean(self):
                cleaned = super().clean()
                hospital = cleaned.get("hospital") or getattr(self.instance, "hospital", None)
                for name, message in same_hospital_errors(model, getattr(hospital, "pk", None), cleaned).items():
                    self.add_error(name, message)
                return cleaned

        SameHospitalForm.__name__ = form.__name__
        return SameHospitalForm

    # django-import-export: the same boundary for files.
    def get_import_resource_kwargs(self, request, **kwargs):
        return {**super().get_import_resource_kwargs(request, **kwargs), **self._resource_kwargs(request)}

    def get_export_resource_kwargs(self, request, **kwargs):
        return {**super().get_export_resource_kwargs(request, **kwargs), **self._resource_kwargs(request)}

    def _resource_kwargs(self, request) -> dict:
        # Exports read the changelist queryset (already confined); imports may write only
        # where the operator may both add and change.
        ids = set(self.hospital_ids(request, "add")) & set(self.hospital_ids(request, "change"))
        codes = [h.code for h in tenancy.operator_hospitals(request.user) if h.pk in ids]
        return {"hospital_ids": sorted(ids), "default_hospital": codes[0] if len(codes) == 1 else None}


def _tenant_safe_filter(model, spec):
    """FK filters list only values present in the operator's rows, never every hospital's."""
    if isinstance(spec, str) and "__" not in spec:
        field = model._meta.get_field(spec)
        if isinstance(field, (models.ForeignKey, models.ManyToManyField)):
            return (spec, RelatedOnlyFieldListFilter)
    return spec


class ReadOnlyAdminMixin:
    """History and ledgers: shown and exported, never added, edited or deleted, by anyone."""

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_import_permission(self, request, *args, **kwargs):
        return False


class ServiceMadeAdminMixin:
    """Rows only services make (a declaration's `made_by_services`): a form could not make a valid
    one, and deleting one would undo money or bookings behind the services' backs. So no add, delete
    or import button, for anyone; their changes are the transitions."""

    def has_add_permission(self, request, *args):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_import_permission(self, request, *args, **kwargs):
        return False


class TransitionAdminMixin(FSMAdminMixin):
    """FSM buttons that run through the same transition service as the API."""

    change_form_template = "lowcode/change_form.html"
    fsm_transition_form_template = "lowcode/transition_form.html"
    fsm_default_disallow_transition = True  # visible unless custom={"admin": False}

    @staticmethod
    def get_fsm_block_label(fsm_field_name: str) -> str:
        return _("Operations")

    def _get_fsm_extra_context(self, *, request, obj):
        """No buttons for an operator who may only view the row."""
        if obj is not None and self.has_change_permission(request, obj):
            yield from super()._get_fsm_extra_context(request=request, obj=obj)

    def fsm_transition_view(self, request, object_id, transition_name, **kwargs):
        obj = self.get_object(request, object_id)
        if obj is not None and not self.has_change_permission(request, obj):
            raise PermissionDenied
        return super().fsm_transition_view(request, object_id, transition_name, **kwargs)

    def _apply_fsm_transition(self, *, obj, transition_name, request, kwargs=None) -> bool:
        if not self.has_change_permission(request, obj):
            self.message_user(request, _("You do not have permission to do this."), level=messages.ERROR)
            return False
        try:
            transition_apply(obj=obj, name=transition_name, actor=request.user, data=dict(kwargs or {}))
        except TransitionRefused as refused:
            self.message_user(request, refused.reason, level=messages.ERROR)
            return False
        except PermissionDenied:
            self.message_user(request, _("You do not have permission to do this."), level=messages.ERROR)
            return False
        label = self.get_fsm_label(self._get_fsm_transition_by_name(obj=obj, transition_name=transition_name))
        self.message_user(request, _("“%(operation)s” done.") % {"operation": label}, level=messages.SUCCESS)
        return True


def build_admin(resource: Resource) -> type[admin.ModelAdmin]:
    """The ModelAdmin class for one declaration."""
    model = resource.model
    bases: list[type] = [*resource.admin_mixins, TenantAdminMixin]
    if resource.made_by_services:
        bases.insert(0, ServiceMadeAdminMixin)
    states = fsm_fields(model)
    if states:
        bases.append(TransitionAdminMixin)
    attrs = {
        "feature": resource.feature,
        "tenant_field": resource.tenant_field,
        "declared_select_related": tuple(resource.select_related),
        "list_display": list(resource.list_display) or ["__str__"],
        "list_filter": list(resource.list_filter),
        "search_fields": list(resource.search_fields),
        "ordering": list(resource.ordering) or None,
        "readonly_fields": list(resource.readonly_fields),
        "autocomplete_fields": list(resource.autocomplete_fields),
        "list_select_related": list(resource.select_related) or False,
        "list_filter_submit": True,
        "warn_unsaved_form": True,
    }
    if resource.fieldsets:
        attrs["fieldsets"] = resource.fieldsets
    if states:
        attrs["fsm_fields"] = states
    if resource.import_fields is not None:
        bases.extend([LimitedImportMixin, ImportExportModelAdmin])
        attrs.update(
            resource_classes=[build_import_resource(resource)],
            export_form_class=ExportForm,
        )
    bases.append(ModelAdmin)
    return type(f"{model.__name__}Admin", tuple(bases), attrs)


def register_all(site: admin.AdminSite = admin.site) -> None:
    for resource in registry():
        if not site.is_registered(resource.model):
            site.register(resource.model, build_admin(resource))
    guard_object_ids(site)


def guard_object_ids(site: admin.AdminSite) -> None:
    """Every other admin of the site (hand-written, Django's, third parties') matches ids as numbers too."""
    for model, model_admin in list(site._registry.items()):
        if not isinstance(model_admin, ObjectIdAdminMixin):
            cls = type(model_admin)
            site.unregister(model)
            site.register(model, type(cls.__name__, (ObjectIdAdminMixin, cls), {"__module__": cls.__module__}))

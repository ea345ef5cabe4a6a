"""Viewsets and routes generated from declarations, per scope, under /api/v1/<hospital>/.

  public/   no sign-in; read-only; the declaration's queryset hook (e.g. published only)
  patient/  the signed-in patient's own rows (the scope's `owner` path)
  staff/    an operator of that hospital, with the model permission of the action

Every FSM transition becomes POST .../<id>/<transition>/ (409 with the reason when refused).
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.urls import include, path
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django_filters.filterset import filterset_factory
from django_filters.rest_framework import DjangoFilterBackend, FilterSet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import filters, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from hcm.lowcode.declarations import CREATE, DELETE, LIST, RETRIEVE, UPDATE, Resource, Scope, registry
from hcm.lowcode.errors import ApiError, Conflict
from hcm.lowcode.permissions import PatientPermission, StaffPermission
from hcm.lowcode.scoping import HospitalScopedMixin
from hcm.lowcode.serializers import build_serializer, form_to_serializer
from hcm.lowcode.transitions import TransitionRefused, fsm_fields, model_transitions, transition_apply

HOSPITAL_PARAMETER = OpenApiParameter(
    "hospital", OpenApiTypes.STR, OpenApiParameter.PATH, description="The hospital's code, e.g. ptdemo."
)
# The one error shape (hcm.lowcode.errors), so that clients and the schema checks see it.
ERROR_RESPONSE = OpenApiResponse(
    response={
        "type": "object",
        "properties": {
            "code": {"type": "string", "description": "Stable, for client developers (e.g. not_found)."},
            "message": {"type": "string", "description": "For the patient, in Simplified Chinese."},
            "fields": {"type": "object", "description": "Input names and their messages."},
        },
        "required": ["code", "message", "fields"],
    },
    description="{code, message, fields}",
)

_MIXINS = {
    LIST: mixins.ListModelMixin,
    RETRIEVE: mixins.RetrieveModelMixin,
    CREATE: mixins.CreateModelMixin,
    UPDATE: mixins.UpdateModelMixin,
    DELETE: mixins.DestroyModelMixin,
}


def _authentication(scope_name: str) -> list:
    if scope_name == "public":
        return []
    names = settings.HCM_API_AUTHENTICATION[scope_name]
    return [import_string(name) for name in names]


class GeneratedViewSet(HospitalScopedMixin):
    """Comes first in every generated viewset's bases, so its hooks win over DRF's mixins."""

    resource: Resource
    scope: Scope
    scope_name: str
    filter_backends = []

    def get_queryset(self):
        resource, scope = self.resource, self.scope
        queryset = resource.model._default_manager.all()
        related = list(resource.select_related)
        if self.scope_name == "staff" and fsm_fields(resource.model) and resource.tenant_field == "hospital":
            related.append("hospital")  # conditions read the hospital's configuration
        if related:
            queryset = queryset.select_related(*related)
        if resource.prefetch_related:
            queryset = queryset.prefetch_related(*resource.prefetch_related)
        hospital = getattr(self, "hospital", None)
        if hospital is None:  # schema generation
            return queryset.none()
        queryset = queryset.filter(**{resource.tenant_field: hospital})
        if scope.owner:
            queryset = queryset.filter(**{scope.owner: self.request.user})
        if scope.queryset:
            queryset = scope.queryset(queryset, self.request)
        ordering = scope.ordering or resource.ordering
        return queryset.order_by(*ordering, "pk") if ordering else queryset.order_by("pk")

    def get_serializer_class(self):
        if self.action == "list":
            return build_serializer(self.resource, self.scope_name, self.scope, rows=True)
        return super().get_serializer_class()

    def get_serializer_context(self):
        context = {**super().get_serializer_context(), "hospital": getattr(self, "hospital", None)}
        return {**context, "preset": self.preset_values()}

    def preset_values(self) -> dict:
        """What the view sets on a new row rather than the body: its hospital and, for a patient, its owner."""
        hospital = getattr(self, "hospital", None)
        if hospital is None:  # schema generation
            return {}
        values = {self.resource.tenant_field: hospital}
        if self.scope.owner:
            values[self.scope.owner.split("__")[0]] = self.request.user
        return values

    def perform_create(self, serializer):
        serializer.save(**self.preset_values())

    def run_transition(self, request, name: str, form_class):
        obj = self.get_object()
        body = request.data  # read even when the transition takes no input: a body that is not an object is a 400
        data = {}
        if form_class is not None:
            form = form_class(data=body)
            if not form.is_valid():
                raise ApiError(
                    _("Please correct the highlighted fields."),
                    code="invalid",
                    fields={k: [str(m) for m in v] for k, v in form.errors.items()},
                )
            data = form.cleaned_data
        try:
            obj = transition_apply(obj=obj, name=name, actor=request.user, data=data)
        except TransitionRefused as refused:
            raise Conflict(refused.reason, code=refused.code) from None
        except DjangoPermissionDenied:
            raise PermissionDenied() from None
        obj = self.get_queryset().get(pk=obj.pk)
        return Response(self.get_serializer(obj).data)


def _transition_action(info, scope_name: str, serializer_class):
    form_class = info.form
    request_body = form_to_serializer(form_class, f"{info.name.title().replace('_', '')}Input") if form_class else None

    def handler(self, request, hospital=None, pk=None):
        return self.run_transition(request, info.name, form_class)

    handler.__name__ = info.name
    handler.__doc__ = f"{info.label}"
    if scope_name == "patient" and info.custom.get("idempotent"):
        # Money-moving requests (e.g. asking for a refund) replay their first answer for a
        # repeated Idempotency-Key; the decorator is named in settings, as the engine knows no app.
        handler = import_string(settings.HCM_IDEMPOTENCY)(handler)
    handler = extend_schema(
        summary=str(info.label),
        request=request_body,
        responses={200: serializer_class, 404: ERROR_RESPONSE, 409: ERROR_RESPONSE, 400: ERROR_RESPONSE},
    )(handler)
    return action(detail=True, methods=["post"], url_path=info.name, url_name=info.name.replace("_", "-"))(handler)


def build_viewset(resource: Resource, scope_name: str, scope: Scope) -> type[GeneratedViewSet]:
    serializer_class = build_serializer(resource, scope_name, scope)
    bases = [_MIXINS[op] for op in (LIST, RETRIEVE, CREATE, UPDATE, DELETE) if op in scope.operations]
    backends = []
    filterset_class = None
    if scope.filters:
        # Built once here: with only `filterset_fields`, django-filter would build a new
        # FilterSet class on every request.
        backends.append(DjangoFilterBackend)
        filterset_class = filterset_factory(resource.model, filterset=FilterSet, fields=list(scope.filters))
    if scope.search:
        backends.append(filters.SearchFilter)
    attrs = {
        "resource": resource,
        "scope": scope,
        "scope_name": scope_name,
        "feature": resource.feature,
        "serializer_class": serializer_class,
        "queryset": resource.model._default_manager.none(),
        "filter_backends": backends,
        "filterset_class": filterset_class,
        "search_fields": list(scope.search),
        "authentication_classes": _authentication(scope_name),
        "permission_classes": {
            "public": [AllowAny],
            "patient": [PatientPermission],
            "staff": [StaffPermission],
        }[scope_name],
    }
    if scope.transitions:
        for info in model_transitions(resource.model).values():
            if scope_name in info.custom.get("scopes", ("staff",)) and info.custom.get("api", True):
                attrs[info.name] = _transition_action(info, scope_name, serializer_class)
    name = f"{resource.model.__name__}{scope_name.title()}ViewSet"
    viewset = type(name, (GeneratedViewSet, *bases, viewsets.GenericViewSet), attrs)
    tag = f"{scope_name} · {resource.slug}"
    return extend_schema(tags=[tag], parameters=[HOSPITAL_PARAMETER])(viewset)


class Router(SimpleRouter):
    """Routes whose ids are numbers (unless a viewset says otherwise): any other id is a 404 before
    a view, a permission or a query reads it. Every API router of the project is this one."""

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        kwarg = getattr(viewset, "lookup_url_kwarg", None) or getattr(viewset, "lookup_field", "pk")
        value = getattr(viewset, "lookup_value_regex", "[0-9]+")
        return f"(?P<{lookup_prefix}{kwarg}>{value})"


def build_urlpatterns() -> list:
    """Routes for every declaration and scope: api/v1/<hospital>/<scope>/<slug>/..."""
    patterns = []
    for scope_name in ("public", "patient", "staff"):
        router = Router()
        for resource in registry():
            scope = resource.scopes.get(scope_name)
            if scope is not None:
                router.register(
                    resource.slug, build_viewset(resource, scope_name, scope), basename=f"{scope_name}-{resource.slug}"
                )
        patterns.append(path(f"api/v1/<slug:hospital>/{scope_name}/", include((router.urls, scope_name))))
    return patterns

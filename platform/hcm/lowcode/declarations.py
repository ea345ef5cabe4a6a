"""The low-code declaration: one `Resource` per model, in the app's resources.py.

    @register
    class ArticleResource(Resource):
        model = Article
        feature = "site"
        list_display = ["title", "kind", "state"]
        staff = Scope(fields=["id", "title", "kind", "state"])
        public = Scope(fields=["id", "title"], queryset=published_only)

From it the engine generates the Unfold admin (hcm.lowcode.admin), the import/export
resource (hcm.lowcode.importing), and the DRF serializers, filtersets, viewsets and routes
of each scope (hcm.lowcode.api). Every generated piece scopes rows to the hospital.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.db import models
from django.db.models import QuerySet

LIST, RETRIEVE, CREATE, UPDATE, DELETE = "list", "retrieve", "create", "update", "delete"
READ_ONLY = frozenset({LIST, RETRIEVE})
ALL_OPERATIONS = frozenset({LIST, RETRIEVE, CREATE, UPDATE, DELETE})


@dataclass(frozen=True)
class Scope:
    """What one audience of the API may see and do with a model.

    fields      serializer fields; "a.b" exposes a related value read-only as "a_b"
    list_fields the fields of list rows when lighter than the detail (e.g. no article body)
    read_only   fields shown but never written
    operations  subset of list/retrieve/create/update/delete
    transitions expose FSM transitions as POST .../<id>/<name>/ (staff and patient scopes)
    filters     filterset fields (exact match, lists accepted as "in")
    search      fields searched by ?search=
    ordering    default ordering
    queryset    extra restriction `fn(queryset, request) -> queryset` (e.g. published only)
    owner       patient scope: the path from the model to the signed-in patient account
    """

    fields: Sequence[str]
    list_fields: Sequence[str] | None = None  # lighter rows for list responses (None: `fields`)
    read_only: Sequence[str] = ()
    operations: frozenset[str] = READ_ONLY
    transitions: bool = False
    filters: Sequence[str] = ()
    search: Sequence[str] = ()
    ordering: Sequence[str] = ()
    queryset: Callable[[QuerySet, object], QuerySet] | None = None
    owner: str | None = None


@dataclass
class Resource:
    """Subclass and set attributes; `register` validates the declaration at start-up."""

    model: type[models.Model] = None
    slug: str = ""  # URL segment; defaults to the model's plural name in snake case
    feature: str | None = None  # a config feature; off -> admin menu hidden, API 404
    tenant_field: str = "hospital"
    list_display: Sequence[str] = ()
    list_filter: Sequence[str] = ()
    search_fields: Sequence[str] = ()
    ordering: Sequence[str] = ()
    readonly_fields: Sequence[str] = ()
    autocomplete_fields: Sequence[str] = ()  # foreign keys to large tables (patients): a search box
    fieldsets: Sequence | None = None
    select_related: Sequence[str] = ()
    prefetch_related: Sequence[str] = ()
    import_fields: Sequence[str] | None = None  # None: no import/export
    import_id_fields: Sequence[str] = ("id",)
    made_by_services: bool = False  # rows only services make (checkout, payment, booking): no add or delete
    admin_mixins: Sequence[type] = ()
    resource_mixins: Sequence[type] = ()  # bases of the generated import/export resource
    staff: Scope | None = None
    patient: Scope | None = None
    public: Scope | None = None
    scopes: dict = field(default_factory=dict)

    @classmethod
    def declared(cls) -> "Resource":
        """An instance carrying the class attributes, with defaults filled in."""
        values = {name: getattr(cls, name) for name in Resource.__dataclass_fields__ if name != "scopes"}
        resource = Resource(**values)
        if not resource.slug:
            resource.slug = _default_slug(resource.model)
        resource.scopes = {
            name: scope for name in ("public", "patient", "staff") if (scope := getattr(resource, name)) is not None
        }
        return resource

    @property
    def label(self) -> str:
        return self.model._meta.label_lower


def _default_slug(model: type[models.Model]) -> str:
    name = model._meta.model_name
    return name + ("es" if name.endswith(("s", "x", "ch", "sh")) else "s")


_REGISTRY: dict[str, Resource] = {}


def register(cls: type[Resource]) -> type[Resource]:
    """Class decorator: add a declaration to the registry (one per model)."""
    resource = cls.declared()
    _check(resource)
    _REGISTRY[resource.label] = resource
    return cls


def registry() -> list[Resource]:
    return list(_REGISTRY.values())


def resource_for(model: type[models.Model]) -> Resource | None:
    return _REGISTRY.get(model._meta.label_lower)


def _check(resource: Resource) -> None:
    if resource.model is None:
        raise TypeError("A Resource needs a model.")
    names = {f.name for f in resource.model._meta.get_fields()}
    if resource.tenant_field and resource.tenant_field not in names:
        raise TypeError(f"{resource.label}: tenant field {resource.tenant_field!r} does not exist.")
    for scope_name in ("public", "patient", "staff"):
        scope = getattr(resource, scope_name)
        if scope is None:
            continue
        unknown = set(scope.operations) - ALL_OPERATIONS
        if unknown:
            raise TypeError(f"{resource.label}.{scope_name}: unknown operations {sorted(unknown)}.")
        if resource.made_by_services and {CREATE, DELETE} & set(scope.operations):
            raise TypeError(f"{resource.label}.{scope_name}: rows made by services are not created or deleted here.")
        if scope_name == "patient" and not scope.owner:
            raise TypeError(f"{resource.label}.patient: the patient scope needs an owner path.")
        if scope_name == "public" and set(scope.operations) - READ_ONLY:
            raise TypeError(f"{resource.label}.public: the public scope is read-only.")
        for name in [*scope.fields, *(scope.list_fields or ())]:
            if name.split(".")[0] not in names and not hasattr(resource.model, name):
                raise TypeError(f"{resource.label}.{scope_name}: unknown field {name!r}.")

"""Low-code declarations of the website content (admin, import/export, API)."""

from hcm.content import models
from hcm.content.selectors import published_only
from hcm.lowcode.declarations import ALL_OPERATIONS, Resource, Scope, register

_COMMON_ADMIN = {"readonly_fields": ["state", "published_at", "archive_reason", "created_at", "updated_at"]}
_STATE = ["state", "sort_order", "published_at", "archive_reason", "created_at", "updated_at"]


def _staff(fields, *, filters=("state",), search=()) -> Scope:
    return Scope(
        fields=["id", *fields, *_STATE],
        read_only=["published_at", "archive_reason", "created_at", "updated_at"],
        operations=ALL_OPERATIONS,
        transitions=True,
        filters=filters,
        search=search,
    )


def _public(fields, *, list_fields=None, filters=(), search=()) -> Scope:
    rows = None if list_fields is None else ["id", *list_fields, "published_at"]
    return Scope(
        fields=["id", *fields, "published_at"],
        list_fields=rows,
        queryset=published_only,
        filters=filters,
        search=search,
    )


@register
class BannerResource(Resource):
    model = models.Banner
    feature = "site"
    list_display = ["title", "state", "sort_order", "hospital", "published_at"]
    list_filter = ["state", "hospital"]
    search_fields = ["title"]
    ordering = ["sort_order", "pk"]
    readonly_fields = _COMMON_ADMIN["readonly_fields"]
    import_fields = ["title", "image", "link_url", "sort_order"]
    import_id_fields = ["hospital", "title"]
    staff = _staff(["title", "image", "link_url"])
    public = _public(["title", "image", "link_url"])


@register
class PageResource(Resource):
    model = models.Page
    feature = "site"
    list_display = ["title", "kind", "state", "hospital"]
    list_filter = ["kind", "state", "hospital"]
    search_fields = ["title"]
    readonly_fields = _COMMON_ADMIN["readonly_fields"]
    import_fields = ["kind", "title", "image", "body", "sort_order"]
    import_id_fields = ["hospital", "kind"]
    staff = _staff(["kind", "title", "image", "body"], filters=("state", "kind"))
    public = _public(["kind", "title", "image", "body"], filters=("kind",))


@register
class DepartmentResource(Resource):
    model = models.Department
    feature = "site"
    list_display = ["name", "location", "state", "sort_order", "hospital"]
    list_filter = ["state", "hospital"]
    search_fields = ["name"]
    ordering = ["sort_order", "pk"]
    readonly_fields = _COMMON_ADMIN["readonly_fields"]
    import_fields = ["name", "intro", "location", "sort_order"]
    import_id_fields = ["hospital", "name"]
    staff = _staff(["name", "intro", "location"], search=("name",))
    public = _public(["name", "intro", "location"], search=("name",))


@register
class DoctorResource(Resource):
    model = models.Doctor
    feature = "site"
    list_display = ["name", "title", "department", "is_expert", "state", "hospital"]
    list_filter = ["title", "is_expert", "state", "department", "hospital"]
    search_fields = ["name", "specialty"]
    ordering = ["sort_order", "pk"]
    select_related = ["department"]
    readonly_fields = _COMMON_ADMIN["readonly_fields"]
    import_fields = [
        "name",
        "title",
        "department",
        "specialty",
        "photo",
        "introduction",
        "working_hours",
        "is_expert",
        "sort_order",
    ]
    import_id_fields = ["hospital", "name"]
    _fields = [
        "name",
        "title",
        "department",
        "department.name",
        "specialty",
        "photo",
        "introduction",
        "working_hours",
        "is_expert",
    ]
    staff = _staff(_fields, filters=("state", "title", "department", "is_expert"), search=("name", "specialty"))
    public = _public(
        _fields,
        list_fields=[f for f in _fields if f != "introduction"],
        filters=("title", "department", "is_expert"),
        search=("name", "specialty"),
    )


@register
class EquipmentResource(Resource):
    model = models.Equipment
    slug = "equipment"
    feature = "site"
    list_display = ["name", "state", "sort_order", "hospital"]
    list_filter = ["state", "hospital"]
    search_fields = ["name"]
    readonly_fields = _COMMON_ADMIN["readonly_fields"]
    import_fields = ["name", "image", "description", "sort_order"]
    import_id_fields = ["hospital", "name"]
    staff = _staff(["name", "image", "description"])
    public = _public(["name", "image", "description"])


@register
class ArticleResource(Resource):
    model = models.Article
    feature = "site"
    list_display = ["title", "kind", "state", "published_at", "hospital"]
    list_filter = ["kind", "state", "hospital"]
    search_fields = ["title", "summary"]
    ordering = ["sort_order", "-published_at", "pk"]
    readonly_fields = _COMMON_ADMIN["readonly_fields"]
    import_fields = ["kind", "title", "summary", "cover", "body", "sort_order"]
    import_id_fields = ["hospital", "title"]
    staff = _staff(["kind", "title", "summary", "cover", "body"], filters=("state", "kind"), search=("title",))
    public = _public(
        ["kind", "title", "summary", "cover", "body"],
        list_fields=["kind", "title", "summary", "cover"],
        filters=("kind",),
        search=("title",),
    )

"""Low-code declarations of the checkup catalog (admin, import/export, API)."""

from django.utils.translation import gettext_lazy as _

from hcm.catalog import models
from hcm.catalog.admin import ProductAdminMixin
from hcm.catalog.selectors import on_sale
from hcm.content.selectors import published_only
from hcm.lowcode.declarations import ALL_OPERATIONS, DELETE, LIST, Resource, Scope, register

_PUBLISHING = ["state", "sort_order", "published_at", "archive_reason", "created_at", "updated_at"]
_PUBLISHING_READ_ONLY = ["state", "published_at", "archive_reason", "created_at", "updated_at"]


def _staff(fields, *, filters=(), search=(), transitions=True, operations=ALL_OPERATIONS) -> Scope:
    return Scope(
        fields=["id", *fields],
        read_only=["published_at", "archive_reason", "created_at", "updated_at"],
        operations=operations,
        transitions=transitions,
        filters=filters,
        search=search,
    )


@register
class CategoryResource(Resource):
    model = models.Category
    slug = "categories"
    feature = "mall"
    list_display = ["name", "state", "sort_order", "hospital", "published_at"]
    list_filter = ["state", "hospital"]
    search_fields = ["name"]
    ordering = ["sort_order", "pk"]
    select_related = ["hospital"]
    readonly_fields = _PUBLISHING_READ_ONLY
    import_fields = ["name", "icon", "sort_order"]
    import_id_fields = ["hospital", "name"]
    # No DELETE: products protect their category, and the engine would answer that refusal
    # with a 500; a category is taken down by archiving it (the admin can delete empty ones).
    staff = _staff(
        ["name", "icon", *_PUBLISHING], filters=("state",), search=("name",), operations=ALL_OPERATIONS - {DELETE}
    )
    public = Scope(fields=["id", "name", "icon"], queryset=published_only)


@register
class ExamItemResource(Resource):
    model = models.ExamItem
    feature = "mall"
    list_display = ["name", "code", "sort_order", "hospital"]
    list_filter = ["hospital"]
    search_fields = ["name", "code"]
    ordering = ["sort_order", "pk"]
    select_related = ["hospital"]
    import_fields = ["name", "code", "description", "clinical_significance", "sort_order"]
    import_id_fields = ["hospital", "name"]
    staff = _staff(
        ["name", "code", "description", "clinical_significance", "sort_order"],
        filters=("code",),
        search=("name", "code"),
        transitions=False,
    )


_PRODUCT_ROW = [
    "kind",
    "category",
    "category.name",
    "name",
    "code",
    "price",
    "original_price",
    "cover",
    "gender",
    "age_min",
    "age_max",
    "suitable_for",
]


@register
class ProductResource(Resource):
    model = models.Product
    feature = "mall"
    list_display = ["name", "code", "kind", "category", "price", "state", "sort_order", "hospital"]
    list_filter = ["category", "kind", "state", "gender", "hospital"]
    search_fields = ["name", "code"]
    ordering = ["sort_order", "pk"]
    select_related = ["category", "hospital"]
    prefetch_related = ["exam_items"]
    readonly_fields = _PUBLISHING_READ_ONLY
    fieldsets = [
        (None, {"fields": ["hospital", "kind", "category", "name", "code", "price", "original_price", "cover"]}),
        (_("Included examination items"), {"fields": ["exam_items"]}),
        (_("Suitable population"), {"fields": ["gender", "age_min", "age_max", "suitable_for"]}),
        (_("Description and notes"), {"fields": ["description", "notes"]}),
        (_("Sale"), {"fields": ["commission_eligible", "sort_order", *_PUBLISHING_READ_ONLY]}),
    ]
    admin_mixins = [ProductAdminMixin]
    import_fields = [
        "code",
        "name",
        "kind",
        "category",
        "price",
        "original_price",
        "cover",
        "exam_items",
        "gender",
        "age_min",
        "age_max",
        "suitable_for",
        "description",
        "notes",
        "commission_eligible",
        "sort_order",
    ]
    import_id_fields = ["hospital", "code"]
    staff = _staff(
        [*_PRODUCT_ROW, "exam_items", "description", "notes", "commission_eligible", *_PUBLISHING],
        filters=("state", "category", "kind", "gender"),
        search=("name", "code"),
    )
    # The detail, with the items and the gallery nested, is hand-written (hcm.catalog.api).
    public = Scope(
        fields=["id", *_PRODUCT_ROW, "published_at"],
        operations=frozenset({LIST}),
        queryset=on_sale,
        filters=("category", "kind", "gender"),
        search=("name",),
    )

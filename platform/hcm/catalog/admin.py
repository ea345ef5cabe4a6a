"""What the generated catalog admin cannot express: the product gallery inline."""

from unfold.admin import TabularInline

from hcm.catalog.models import ProductImage


class ProductImageInline(TabularInline):
    """The gallery, edited on the product page; tenancy follows the product."""

    model = ProductImage
    extra = 0
    fields = ["image", "sort_order"]


class ProductAdminMixin:
    inlines = [ProductImageInline]
    filter_horizontal = ["exam_items"]

"""Reads of the catalog for sale: the public API and the mall's checkout read prices here."""

from django.db.models import QuerySet

from hcm.catalog.models import Product
from hcm.content.models import PublishState


def on_sale(queryset: QuerySet, request=None) -> QuerySet:
    """Products that are published in a published category (the public scope's restriction)."""
    return queryset.filter(state=PublishState.PUBLISHED, category__state=PublishState.PUBLISHED)


def products_for_sale(hospital) -> QuerySet[Product]:
    """A hospital's products on sale with their category, items and gallery (constant queries)."""
    products = on_sale(Product.objects.filter(hospital=hospital))
    return products.select_related("category").prefetch_related("exam_items", "images").order_by("sort_order", "pk")


def product_for_sale(*, hospital, product_id: int) -> Product | None:
    """The product as it is sold now, or None when it is not on sale at `hospital`.

    Checkout takes the price from here, never from the client.
    """
    return products_for_sale(hospital).filter(pk=product_id).first()

"""Catalog rows with exact values: categories, examination items, products on sale or not."""

from decimal import Decimal

from hcm.catalog.models import Category, ExamItem, Product
from hcm.hospitals.config import parse_config
from hcm.hospitals.services import hospital_config_update
from tests.factories import make_row

PUBLISHED = {"state": "published"}


def category(hospital, name: str = "入职体检", **values) -> Category:
    return make_row(Category, hospital, name=name, **{**PUBLISHED, **values})


def exam_item(hospital, name: str, **values) -> ExamItem:
    return make_row(ExamItem, hospital, name=name, **values)


def product(hospital, *, category: Category, code: str, name: str, price: str = "158.00", exam_items=(), **values):
    """A product with a cover; published unless `state` says otherwise."""
    defaults = {"kind": Product.Kind.PACKAGE, "cover": "catalog/hospa/covers/x.png", **PUBLISHED}
    row = make_row(
        Product, hospital, category=category, code=code, name=name, price=Decimal(price), **{**defaults, **values}
    )
    row.exam_items.set(exam_items)
    return row


def switch_features(hospital, features: str) -> None:
    config = parse_config(f"code: {hospital.code}\nname: {hospital.name}\nfeatures: {features}\n")
    hospital_config_update(hospital=hospital, config=config, author=None)

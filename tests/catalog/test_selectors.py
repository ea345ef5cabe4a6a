"""The checkout reads products here: only what is on sale at that hospital, at its stored price."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hcm.catalog.selectors import product_for_sale, products_for_sale
from tests.catalog.conftest import category, exam_item, product

pytestmark = pytest.mark.django_db


def test_product_for_sale_returns_the_product_with_its_price_as_a_decimal(hospital_a):
    on_sale = product(hospital_a, category=category(hospital_a), code="RZ-001", name="入职体检", price="158.00")

    found = product_for_sale(hospital=hospital_a, product_id=on_sale.pk)

    assert found == on_sale
    assert found.price == Decimal("158.00") and isinstance(found.price, Decimal)


@pytest.mark.parametrize(
    ("product_state", "category_state"),
    [("draft", "published"), ("archived", "published"), ("published", "draft"), ("published", "archived")],
)
def test_product_for_sale_is_none_unless_the_product_and_its_category_are_published(
    hospital_a, product_state, category_state
):
    shelf = category(hospital_a, state=category_state)
    row = product(hospital_a, category=shelf, code="RZ-001", name="入职体检", state=product_state)

    assert product_for_sale(hospital=hospital_a, product_id=row.pk) is None


def test_product_for_sale_is_none_for_another_hospitals_product(hospital_a, hospital_b):
    theirs = product(hospital_b, category=category(hospital_b), code="RZ-001", name="乙医院套餐")

    assert product_for_sale(hospital=hospital_a, product_id=theirs.pk) is None
    assert product_for_sale(hospital=hospital_b, product_id=theirs.pk) == theirs


def test_products_for_sale_come_in_order_with_category_and_items_in_three_queries(hospital_a, hospital_b):
    shelf = category(hospital_a, "入职体检")
    items = [exam_item(hospital_a, "血常规"), exam_item(hospital_a, "心电图")]
    product(hospital_a, category=shelf, code="B", name="乙", sort_order=20, exam_items=items)
    product(hospital_a, category=shelf, code="A", name="甲", sort_order=10, exam_items=items[:1])
    product(hospital_a, category=shelf, code="C", name="草稿", state="draft")
    product(hospital_b, category=category(hospital_b), code="A", name="乙医院")

    with CaptureQueriesContext(connection) as queries:
        rows = [(p.code, p.category.name, [i.name for i in p.exam_items.all()]) for p in products_for_sale(hospital_a)]

    assert rows == [("A", "入职体检", ["血常规"]), ("B", "入职体检", ["血常规", "心电图"])]
    assert len(queries) == 3  # products with categories, their items, their gallery

"""The database keeps prices and ages sane whatever path writes them."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from hcm.catalog.models import Product
from tests.catalog.conftest import category, product

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "values",
    [{"price": Decimal("0")}, {"price": Decimal("-1.00")}, {"original_price": Decimal("99.99")}, {"age_min": 70}],
)
def test_constraints_hold_even_for_writes_that_skip_validation(hospital_a, values):
    row = product(hospital_a, category=category(hospital_a), code="RZ-001", name="入职体检", price="100.00", age_max=60)

    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=row.pk).update(**values)

    row.refresh_from_db()
    assert (row.price, row.original_price, row.age_min) == (Decimal("100.00"), None, None)


def test_saving_checks_the_pairs_and_names_the_field_to_correct(hospital_a):
    row = product(hospital_a, category=category(hospital_a), code="RZ-001", name="入职体检", price="100.00")
    row.original_price = Decimal("80.00")
    row.age_min, row.age_max = 60, 18

    with pytest.raises(ValidationError) as refused:
        row.save()

    assert set(refused.value.message_dict) == {"original_price", "age_max"}
    row.refresh_from_db()
    assert (row.original_price, row.age_min, row.age_max) == (None, None, None)


def test_a_category_with_products_cannot_be_deleted(hospital_a):
    shelf = category(hospital_a)
    product(hospital_a, category=shelf, code="RZ-001", name="入职体检")

    with pytest.raises(ProtectedError):
        shelf.delete()

    assert Product.objects.filter(category=shelf).count() == 1

"""Operators write products through the staff API: items of their hospital only, prices that
make sense, codes unique per hospital; a refusal writes nothing."""

import pytest

from hcm.catalog.models import Product
from tests.catalog.conftest import category, exam_item, product
from tests.conftest import staff_client

pytestmark = pytest.mark.django_db


def post_product(client, hospital, **values):
    body = {"kind": "package", "name": "入职体检基础套餐", "code": "RZ-001", "price": "158.00", **values}
    return client.post(f"/api/v1/{hospital.code}/staff/products/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")


def test_an_operator_creates_a_draft_package_with_items_of_their_hospital(hospital_a, admin_a):
    shelf = category(hospital_a)
    blood, ecg = exam_item(hospital_a, "血常规"), exam_item(hospital_a, "心电图")

    response = post_product(staff_client(admin_a), hospital_a, category=shelf.pk, exam_items=[blood.pk, ecg.pk])

    assert response.status_code == 201
    created = Product.objects.get()
    assert (created.hospital, created.state, created.price, created.commission_eligible) == (
        hospital_a,
        "draft",
        Product._meta.get_field("price").to_python("158.00"),
        True,
    )
    assert sorted(created.exam_items.values_list("name", flat=True)) == ["心电图", "血常规"]
    assert response.json()["exam_items"] == sorted([blood.pk, ecg.pk])


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"original_price": "100.00"}, "original_price", "The original price cannot be lower than the price."),
        ({"age_min": 60, "age_max": 18}, "age_max", "The minimum age cannot be greater than the maximum age."),
        ({"price": "0.00"}, "price", "Ensure this value is greater than or equal to 0.01."),
    ],
)
def test_prices_and_ages_out_of_order_are_refused_naming_the_field(hospital_a, admin_a, values, field, message):
    response = post_product(staff_client(admin_a), hospital_a, category=category(hospital_a).pk, **values)

    assert response.status_code == 400
    assert response.json()["fields"] == {field: [message]}
    assert not Product.objects.exists()


def test_a_code_already_used_at_the_hospital_is_refused_but_another_hospital_may_use_it(
    hospital_a, hospital_b, admin_a, admin_b
):
    product(hospital_a, category=category(hospital_a), code="RZ-001", name="已有套餐")

    refused = post_product(staff_client(admin_a), hospital_a, category=category(hospital_a, "女性专项").pk)
    accepted = post_product(staff_client(admin_b), hospital_b, category=category(hospital_b).pk)

    assert refused.status_code == 400 and refused.json()["code"] == "invalid"
    assert accepted.status_code == 201
    assert sorted(Product.objects.values_list("hospital__code", "name")) == [
        ("hospa", "已有套餐"),
        ("hospb", "入职体检基础套餐"),
    ]


def test_items_of_another_hospital_are_refused(hospital_a, hospital_b, admin_a):
    theirs = exam_item(hospital_b, "血常规")

    response = post_product(staff_client(admin_a), hospital_a, category=category(hospital_a).pk, exam_items=[theirs.pk])

    assert response.status_code == 400 and list(response.json()["fields"]) == ["exam_items"]
    assert not Product.objects.exists()


def test_categories_are_archived_rather_than_deleted_through_the_api(hospital_a, admin_a):
    shelf = category(hospital_a)
    product(hospital_a, category=shelf, code="RZ-001", name="入职体检基础套餐")
    client = staff_client(admin_a)
    url = f"/api/v1/{hospital_a.code}/staff/categories/{shelf.pk}/"

    assert client.delete(url).status_code == 405
    archived = client.post(f"{url}archive/", {"reason": "季度调整"}, format="json")

    assert archived.status_code == 200 and archived.json()["state"] == "archived"
    assert Product.objects.filter(category=shelf).count() == 1

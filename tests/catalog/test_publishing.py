"""Publishing a product needs its content complete, and a package its examination items."""

import pytest
from django.test import Client

from hcm.catalog.models import Product
from hcm.lowcode.models import TransitionLog
from tests.catalog.conftest import category, exam_item, product
from tests.conftest import staff_client

pytestmark = pytest.mark.django_db


def publish(client, hospital, row, **headers):
    return client.post(f"/api/v1/{hospital.code}/staff/products/{row.pk}/publish/", **headers)


def test_a_package_without_items_is_refused_with_the_reason_and_stays_a_draft(hospital_a, admin_a):
    package = product(hospital_a, category=category(hospital_a), code="RZ-001", name="入职体检套餐", state="draft")

    response = publish(staff_client(admin_a), hospital_a, package, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 409
    assert response.json() == {
        "code": "transition_not_allowed",
        "message": "A package needs at least one examination item before it can be published.",
        "fields": {},
    }
    package.refresh_from_db()
    assert (package.state, package.published_at) == ("draft", None)
    assert not TransitionLog.objects.exists()


def test_a_product_without_a_cover_is_refused_with_the_reason_and_stays_a_draft(hospital_a, admin_a):
    blood = exam_item(hospital_a, "血常规")
    single = product(
        hospital_a,
        category=category(hospital_a),
        code="DX-001",
        name="血常规",
        kind=Product.Kind.SINGLE,
        cover="",
        exam_items=[blood],
        state="draft",
    )

    response = publish(staff_client(admin_a), hospital_a, single)

    assert response.status_code == 409
    assert response.json()["message"] == "内容不完整，请补充后再发布。"
    single.refresh_from_db()
    assert single.state == "draft" and not TransitionLog.objects.exists()


def test_a_complete_package_is_published_and_the_operator_may_then_withdraw_or_archive_it(hospital_a, admin_a):
    package = product(
        hospital_a,
        category=category(hospital_a),
        code="RZ-001",
        name="入职体检套餐",
        exam_items=[exam_item(hospital_a, "血常规"), exam_item(hospital_a, "心电图")],
        state="draft",
    )

    response = publish(staff_client(admin_a), hospital_a, package)

    assert response.status_code == 200
    assert (response.json()["state"], response.json()["transitions"]) == ("published", ["archive", "withdraw"])
    package.refresh_from_db()
    assert package.state == "published" and package.published_at is not None
    log = TransitionLog.objects.get()
    assert (log.transition, log.source_state, log.target_state, log.actor) == ("publish", "draft", "published", admin_a)


def test_a_single_item_needs_no_item_list_to_be_published(hospital_a, admin_a):
    single = product(
        hospital_a, category=category(hospital_a), code="DX-002", name="骨密度检测", kind="single", state="draft"
    )

    assert publish(staff_client(admin_a), hospital_a, single).status_code == 200
    single.refresh_from_db()
    assert single.state == "published"


def test_the_staff_list_offers_publish_only_when_the_conditions_hold(hospital_a, admin_a):
    shelf = category(hospital_a)
    product(
        hospital_a, category=shelf, code="A", name="甲", exam_items=[exam_item(hospital_a, "尿常规")], state="draft"
    )
    product(hospital_a, category=shelf, code="B", name="乙", state="draft")

    rows = staff_client(admin_a).get(f"/api/v1/{hospital_a.code}/staff/products/").json()["results"]

    assert {row["code"]: row["transitions"] for row in rows} == {"A": ["archive", "publish"], "B": ["archive"]}


def test_the_admin_hides_publish_for_a_package_without_items_and_refuses_it_with_the_reason(hospital_a, admin_a):
    shelf = category(hospital_a)
    package = product(hospital_a, category=shelf, code="RZ-001", name="入职体检套餐", state="draft")
    client = Client()
    client.force_login(admin_a)
    change_url = f"/admin/catalog/product/{package.pk}/change/"
    form = {
        "hospital": hospital_a.pk,
        "kind": "package",
        "category": shelf.pk,
        "name": "入职体检套餐",
        "code": "RZ-001",
        "price": "158.00",
        "gender": "any",
        "sort_order": 0,
        "images-TOTAL_FORMS": 0,
        "images-INITIAL_FORMS": 0,
        "images-MIN_NUM_FORMS": 0,
        "images-MAX_NUM_FORMS": 1000,
    }

    page = client.get(change_url).content.decode()
    response = client.post(
        change_url, {**form, "_fsm_transition_to": "publish"}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert 'value="publish"' not in page
    assert [str(m) for m in response.context["messages"]] == [
        "A package needs at least one examination item before it can be published."
    ]
    package.refresh_from_db()
    assert package.state == "draft" and not TransitionLog.objects.exists()

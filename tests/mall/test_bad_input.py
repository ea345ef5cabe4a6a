"""The patient's shop refuses bodies it cannot use with a 400 in the error shape and changes nothing:
a refund request or a cancellation whose body is not an object, nesting too deep for cart and checkout."""

import pytest

from hcm.lowcode.models import TransitionLog
from hcm.mall.models import CartItem, Order
from hcm.payments.models import Refund

pytestmark = pytest.mark.django_db
API = "/api/v1/shop/patient/"
NOT_AN_OBJECT = {"code": "malformed_request", "message": "请求内容必须是一个 JSON 对象。", "fields": {}}
TOO_DEEP = {"code": "malformed_request", "message": "请求内容嵌套层级过深。", "fields": {}}


def paid_order(buyer, product) -> dict:
    order = buyer.post(API + "checkout/", {"items": [{"product": product.pk}]}, format="json").json()
    paid = buyer.post(f"{API}orders/{order['id']}/pay/", {"method": "balance", "password": "246810"}, format="json")
    assert paid.status_code == 200, paid.content
    return order


def test_a_refund_request_whose_body_is_a_list_is_a_400(buyer, package, card):
    order = paid_order(buyer, package)
    logged = TransitionLog.objects.count()

    response = buyer.generic(
        "POST", f"{API}orders/{order['id']}/request_refund/", "[null, null]", content_type="application/json"
    )

    assert response.status_code == 400 and response.json() == NOT_AN_OBJECT
    assert Order.objects.get(pk=order["id"]).state == "paid"
    assert Refund.objects.count() == 0 and TransitionLog.objects.count() == logged


def test_a_cancellation_whose_body_is_a_list_is_a_400(buyer, package):
    order = buyer.post(API + "checkout/", {"items": [{"product": package.pk}]}, format="json").json()

    response = buyer.generic("POST", f"{API}orders/{order['id']}/cancel/", "[1]", content_type="application/json")

    assert response.status_code == 400 and response.json() == NOT_AN_OBJECT
    assert Order.objects.get(pk=order["id"]).state == "pending_payment"


def test_a_checkout_whose_body_is_a_list_is_a_400(buyer, package):
    response = buyer.generic("POST", API + "checkout/", "[1, 2]", content_type="application/json")
    assert response.status_code == 400 and response.json() == NOT_AN_OBJECT
    assert Order.objects.count() == 0


@pytest.mark.parametrize("path", ["cart/", "checkout/", "checkout/preview/"])
@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000, '{"a":' * 5_000 + "1" + "}" * 5_000])
def test_bodies_nested_too_deep_are_a_400(buyer, package, path, body):
    response = buyer.generic("POST", API + path, body, content_type="application/json")
    assert response.status_code == 400 and response.json() == TOO_DEEP
    assert CartItem.objects.count() == 0 and Order.objects.count() == 0


def test_the_order_page_offers_no_delete_button(buyer, package, card, platform_admin):
    from django.test import Client
    from django.urls import reverse

    order = paid_order(buyer, package)
    client = Client()
    client.force_login(platform_admin)
    delete = reverse("admin:mall_order_delete", args=[order["id"]])

    page = client.get(reverse("admin:mall_order_change", args=[order["id"]]))

    assert page.status_code == 200 and delete not in page.content.decode()
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Order.objects.filter(pk=order["id"]).exists()

"""Both purchase paths end to end through the API, with each payment method."""

from decimal import Decimal

import pytest
import responses

from hcm.mall.models import CartItem, Order
from hcm.notifications import backends
from hcm.patients.models import PatientToken
from hcm.payments.models import Payment
from hcm.wallet.models import LedgerEntry
from tests.conftest import staff_client
from tests.openapi import conforming_answer
from tests.payments import wechat_fake

# Real commits: notifications are queued after commit, as in production.
pytestmark = pytest.mark.django_db(transaction=True)

API = "/api/v1/shop/patient/"


def checkout(buyer, body: dict) -> dict:
    response = buyer.post(API + "checkout/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_buy_now_and_pay_by_balance(buyer, package, card, patient):
    preview = buyer.post(API + "checkout/preview/", {"items": [{"product": package.pk, "quantity": 2}]}, format="json")
    assert preview.status_code == 200
    assert preview.json()["total"] == "598.00" and preview.json()["balance"] == "1000.00"
    assert preview.json()["person"]["name"] == "尤**"
    assert [m["method"] for m in preview.json()["methods"]] == ["balance", "at_hospital", "wechat"]

    order = checkout(buyer, {"items": [{"product": package.pk, "quantity": 2, "price": "0.01"}]})
    assert (order["state"], order["total"]) == ("pending_payment", "598.00")
    assert order["lines"] == [
        {"product": package.pk, "name": "入职体检套餐", "unit_price": "299.00", "quantity": 2, "amount": "598.00"}
    ]

    paid = buyer.post(f"{API}orders/{order['id']}/pay/", {"method": "balance", "password": "246810"}, format="json")

    assert paid.status_code == 200, paid.json()
    assert paid.json()["payment"]["state"] == "paid" and paid.json()["wechat"] is None
    card.refresh_from_db()
    assert card.balance == Decimal("402.00")
    entry = LedgerEntry.objects.get(kind="purchase")
    assert (entry.amount, entry.balance_after, entry.reference) == (
        Decimal("-598.00"),
        Decimal("402.00"),
        f"payment:{paid.json()['payment']['id']}",
    )
    assert buyer.get(f"{API}orders/{order['id']}/").json()["state"] == "paid"
    assert [(n.event, n.template_id, n.data["order"]) for n in backends.outbox] == [
        ("order_paid", "TPL-PAID", order["number"])
    ]


def test_cart_then_pay_at_the_hospital_and_the_cashier_confirms(buyer, package, eye_test, cashier, account):
    buyer.post(API + "cart/", {"product": package.pk}, format="json")
    buyer.post(API + "cart/", {"product": eye_test.pk, "quantity": 2}, format="json")
    cart = buyer.post(API + "cart/", {"product": eye_test.pk}, format="json").json()
    assert [(i["product_name"], i["quantity"]) for i in cart["items"]] == [("入职体检套餐", 1), ("视力检查", 3)]
    assert cart["selected_total"] == "435.50"
    eye_line = cart["items"][1]["id"]
    assert buyer.patch(f"{API}cart/{eye_line}/", {"quantity": 2}, format="json").json()["selected_total"] == "390.00"
    package_line = cart["items"][0]["id"]
    buyer.patch(f"{API}cart/{package_line}/", {"selected": False}, format="json")

    order = checkout(buyer, {"from_cart": True})

    assert order["total"] == "91.00"
    assert list(CartItem.objects.values_list("product", flat=True)) == [package.pk]  # only what was ordered left
    placed = buyer.post(f"{API}orders/{order['id']}/pay/", {"method": "at_hospital"}, format="json")
    assert placed.status_code == 200 and placed.json()["payment"]["state"] == "pending"
    assert buyer.get(f"{API}orders/{order['id']}/").json()["state"] == "pending_payment"
    assert [n.event for n in backends.outbox] == ["order_placed"]

    confirmed = staff_client(cashier).post(
        f"/api/v1/shop/staff/orders/{order['id']}/confirm_payment/", {"note": "现金"}, format="json"
    )

    assert confirmed.status_code == 200, confirmed.json()
    assert confirmed.json()["state"] == "paid"
    payment = Payment.objects.get()
    assert (payment.state, payment.collected_by, payment.collection_note) == ("paid", cashier, "现金")
    assert [n.event for n in backends.outbox] == ["order_placed", "order_paid"]


@responses.activate
def test_pay_by_wechat_then_the_signed_notification_marks_it_paid_once(buyer, package, api):
    wechat_fake.stub_unified_order(prepay_id="wx-prepay-1")
    order = checkout(buyer, {"items": [{"product": package.pk}]})

    started = buyer.post(f"{API}orders/{order['id']}/pay/", {"method": "wechat"}, format="json", REMOTE_ADDR="10.1.2.3")

    assert started.status_code == 200, started.json()
    jsapi = started.json()["wechat"]
    assert jsapi["package"] == "prepay_id=wx-prepay-1" and jsapi["appId"] == wechat_fake.APP_ID and jsapi["paySign"]
    sent = wechat_fake.requests_to("pay/unifiedorder")[0]
    payment = Payment.objects.get()
    assert sent["out_trade_no"] == payment.out_trade_no and sent["total_fee"] == "29900"
    assert sent["spbill_create_ip"] == "10.1.2.3" and sent["openid"] == "oBuyer0001" and sent["time_expire"]
    assert sent["notify_url"] == "https://hcm.example.org/api/v1/shop/payments/wechat/payment-notify/"

    notify = "/api/v1/shop/payments/wechat/payment-notify/"
    body = wechat_fake.payment_notification(out_trade_no=payment.out_trade_no, total_fee=29900)
    first = api.post(notify, body, content_type="text/xml")
    again = api.post(notify, body, content_type="text/xml")

    assert b"<return_code><![CDATA[SUCCESS]]>" in first.content and first.content == again.content
    payment.refresh_from_db()
    assert payment.state == "paid" and payment.transaction_id == "4200000000000000000000000001"
    assert Order.objects.get().state == "paid"
    assert [n.event for n in backends.outbox] == ["order_paid"]  # once, though notified twice


@responses.activate
def test_forged_wrong_amount_and_unknown_notifications_change_nothing(buyer, package, api):
    wechat_fake.stub_unified_order()
    order = checkout(buyer, {"items": [{"product": package.pk}]})
    buyer.post(f"{API}orders/{order['id']}/pay/", {"method": "wechat"}, format="json")
    payment = Payment.objects.get()
    notify = "/api/v1/shop/payments/wechat/payment-notify/"

    forged = wechat_fake.payment_notification(out_trade_no=payment.out_trade_no, total_fee=29900, key="not-the-key")
    wrong_amount = wechat_fake.payment_notification(out_trade_no=payment.out_trade_no, total_fee=1)
    unknown = wechat_fake.payment_notification(out_trade_no="P-NOT-OURS", total_fee=29900)
    wrong_merchant = wechat_fake.payment_notification(out_trade_no=payment.out_trade_no, total_fee=29900, mch_id="1")
    for body in (forged, wrong_amount, unknown, wrong_merchant, b"<xml><not-closed>", b"plain text"):
        response = api.post(notify, body, content_type="text/xml")
        assert b"<return_code><![CDATA[FAIL]]>" in response.content, body

    payment.refresh_from_db()
    assert payment.state == "pending" and Order.objects.get().state == "pending_payment"
    assert backends.outbox == []


def test_the_my_page_counts_unpaid_orders_and_cart_items(buyer, package, eye_test):
    buyer.post(API + "cart/", {"product": package.pk}, format="json")
    buyer.post(API + "cart/", {"product": eye_test.pk}, format="json")
    checkout(buyer, {"items": [{"product": package.pk}]})

    counts = buyer.get(API + "me/").json()["counts"]

    assert (counts["unpaid_orders"], counts["cart_items"]) == (1, 2)


def test_an_unpaid_order_matches_the_schema_in_checkout_and_my_orders(account, package):
    """An unpaid order has no payment method yet: "" is documented, not only the three methods."""
    _token, key = PatientToken.issue(account)
    bearer = f"Bearer {key}"
    body = {"items": [{"product": package.pk, "quantity": 1}]}

    order = conforming_answer(
        "/api/v1/{hospital}/patient/checkout/", hospital="shop", method="POST", authorization=bearer, body=body
    ).json()
    mine = conforming_answer("/api/v1/{hospital}/patient/orders/", hospital="shop", authorization=bearer).json()
    one = conforming_answer(
        "/api/v1/{hospital}/patient/orders/{id}/",
        hospital="shop",
        authorization=bearer,
        path_parameters={"id": order["id"]},
    ).json()

    assert (order["state"], order["payment_method"]) == ("pending_payment", "")
    assert [row["id"] for row in mine["results"]] == [order["id"]] and one["payment_method"] == ""
    assert Order.objects.get().payment_method == ""

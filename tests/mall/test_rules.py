"""Refusals and rules of paying orders: passwords and lockout, methods switched off, prices from
the catalog, the unpaid-order timeout, idempotency keys, and notifications that fail."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from hcm.hospitals.config import parse_config
from hcm.hospitals.services import hospital_config_update
from hcm.mall.models import Order
from hcm.mall.tasks import close_unpaid_orders
from hcm.notifications import backends
from hcm.notifications.models import Notification
from hcm.payments.models import Payment
from hcm.wallet.models import LedgerEntry
from tests.mall.conftest import SHOP, make_product

pytestmark = pytest.mark.django_db(transaction=True)
API = "/api/v1/shop/patient/"


def order_of(buyer, product, quantity: int = 1) -> dict:
    response = buyer.post(API + "checkout/", {"items": [{"product": product.pk, "quantity": quantity}]}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def pay(buyer, order: dict, **body):
    return buyer.post(f"{API}orders/{order['id']}/pay/", body, format="json")


def test_wrong_passwords_count_down_then_lock_the_card_for_payments(buyer, package, card):
    order = order_of(buyer, package)
    first = pay(buyer, order, method="balance", password="000000")
    assert first.status_code == 400
    assert (first.json()["code"], first.json()["message"]) == ("wrong_password", "支付密码错误，还可尝试 2 次。")
    pay(buyer, order, method="balance", password="000000")
    third = pay(buyer, order, method="balance", password="000000")
    assert third.json()["code"] == "wrong_password" and "锁定至" in third.json()["message"]

    right = pay(buyer, order, method="balance", password="246810")

    assert right.status_code == 409 and right.json()["code"] == "card_locked"
    card.refresh_from_db()
    assert card.balance == Decimal("1000.00") and not LedgerEntry.objects.filter(kind="purchase").exists()
    assert Order.objects.get().state == "pending_payment" and not Payment.objects.exists()


def test_lock_expires_after_the_configured_time(buyer, package, card):
    order = order_of(buyer, package)
    for _ in range(3):
        pay(buyer, order, method="balance", password="000000")
    type(card).objects.filter(pk=card.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert pay(buyer, order, method="balance", password="246810").status_code == 200


def test_a_method_switched_off_is_refused_with_its_notice(buyer, hospital, package, card):
    config = SHOP.replace(
        "unpaid_order_timeout: 30m",
        "unpaid_order_timeout: 30m\n  wechat: {enabled: false, notice: 微信支付维护中，请选择其他支付方式}",
    )
    hospital_config_update(
        hospital=hospital, config=parse_config(f"code: shop\nname: 商城医院\nfeatures: [mall]\n{config}"), author=None
    )
    order = order_of(buyer, package)

    methods = buyer.post(API + "checkout/preview/", {"items": [{"product": package.pk}]}, format="json").json()[
        "methods"
    ]
    refused = pay(buyer, order, method="wechat")

    assert methods[2] == {
        "method": "wechat",
        "label": "微信支付",
        "available": False,
        "notice": "微信支付维护中，请选择其他支付方式",
    }
    assert refused.status_code == 409
    assert refused.json() == {"code": "method_disabled", "message": "微信支付维护中，请选择其他支付方式", "fields": {}}
    assert not Payment.objects.exists()


def test_a_method_not_listed_is_refused(buyer, hospital, package):
    config = SHOP.replace("methods: [balance, at_hospital, wechat]", "methods: [at_hospital]")
    hospital_config_update(
        hospital=hospital, config=parse_config(f"code: shop\nname: 商城医院\nfeatures: [mall]\n{config}"), author=None
    )
    response = pay(buyer, order_of(buyer, package), method="balance", password="246810")
    assert response.status_code == 409 and response.json()["code"] == "method_unavailable"


def test_prices_come_from_the_catalog_at_checkout(buyer, hospital, package):
    buyer.post(API + "cart/", {"product": package.pk, "price": "0.01"}, format="json")
    type(package).objects.filter(pk=package.pk).update(price=Decimal("320.00"))
    order = buyer.post(API + "checkout/", {"from_cart": True}, format="json").json()
    assert order["total"] == "320.00"


def test_unpublished_products_cannot_be_bought(buyer, hospital):
    hidden = make_product(hospital, code="HIDDEN", price="10.00", published=False)
    response = buyer.post(API + "checkout/", {"items": [{"product": hidden.pk}]}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "product_unavailable"
    assert not Order.objects.exists()


def test_checkout_without_a_bound_person_offers_binding(buyer, account, package):
    type(account).objects.filter(pk=account.pk).update(current_patient=None)
    response = buyer.post(API + "checkout/", {"items": [{"product": package.pk}]}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "binding_required"


def test_unpaid_orders_close_after_the_timeout_but_pay_at_hospital_orders_wait(buyer, package, card):
    online = order_of(buyer, package)
    at_counter = order_of(buyer, package)
    pay(buyer, at_counter, method="at_hospital")
    assert close_unpaid_orders() == 0  # not yet due

    Order.objects.update(created_at=timezone.now() - timedelta(minutes=31))
    Order.objects.filter(pk=online["id"]).update(expires_at=timezone.now() - timedelta(minutes=1))

    assert close_unpaid_orders() == 1
    closed = Order.objects.get(pk=online["id"])
    assert (closed.state, closed.cancel_reason) == ("cancelled", "超时未支付")
    assert Order.objects.get(pk=at_counter["id"]).state == "pending_payment"
    assert pay(buyer, online, method="balance", password="246810").json()["code"] == "not_payable"


def test_the_patient_cancels_an_unpaid_order(buyer, package):
    order = order_of(buyer, package)
    pay(buyer, order, method="at_hospital")
    response = buyer.post(f"{API}orders/{order['id']}/cancel/", {}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    assert Payment.objects.get().state == "closed"
    again = buyer.post(f"{API}orders/{order['id']}/cancel/", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "transition_not_allowed"


def test_an_idempotency_key_replays_the_first_answer_and_refuses_other_content(buyer, package, card):
    order = order_of(buyer, package)
    headers = {"HTTP_IDEMPOTENCY_KEY": "pay-order-1"}
    first = buyer.post(
        f"{API}orders/{order['id']}/pay/", {"method": "balance", "password": "246810"}, format="json", **headers
    )
    repeat = buyer.post(
        f"{API}orders/{order['id']}/pay/", {"method": "balance", "password": "246810"}, format="json", **headers
    )
    other = buyer.post(f"{API}orders/{order['id']}/pay/", {"method": "at_hospital"}, format="json", **headers)

    assert first.status_code == repeat.status_code == 200
    assert repeat.json() == first.json() and repeat["Idempotent-Replayed"] == "true"
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    card.refresh_from_db()
    assert card.balance == Decimal("701.00") and LedgerEntry.objects.filter(kind="purchase").count() == 1


def test_paying_twice_without_a_key_is_refused(buyer, package, card):
    order = order_of(buyer, package)
    assert pay(buyer, order, method="balance", password="246810").status_code == 200
    second = pay(buyer, order, method="balance", password="246810")
    assert second.status_code == 409 and second.json()["code"] == "not_payable"
    card.refresh_from_db()
    assert card.balance == Decimal("701.00")


def test_a_failed_notification_is_retried_and_never_touches_the_order(buyer, package, card):
    backends.fail_next(1)
    order = order_of(buyer, package)

    assert pay(buyer, order, method="balance", password="246810").status_code == 200

    notification = Notification.objects.get(event="order_paid")
    assert notification.state == "failed" and notification.attempts == 1
    assert Order.objects.get().state == "paid"
    Notification.objects.filter(pk=notification.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    from hcm.notifications.tasks import send_due

    send_due()
    notification.refresh_from_db()
    assert notification.state == "sent" and [n.event for n in backends.outbox] == ["order_paid"]
    assert Order.objects.get().state == "paid"


def test_choosing_the_counter_then_paying_by_balance_closes_the_counter_payment(buyer, package, card):
    order = order_of(buyer, package)
    pay(buyer, order, method="at_hospital")

    paid = pay(buyer, order, method="balance", password="246810")

    assert paid.status_code == 200, paid.json()
    assert sorted(Payment.objects.values_list("method", "state")) == [("at_hospital", "closed"), ("balance", "paid")]

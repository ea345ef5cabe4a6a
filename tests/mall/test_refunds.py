"""Refunds go back the way the money came: the balance at once (ledger restored), WeChat when
WeChat's refund notification (or a query) confirms it; reconciliation finishes half-way work."""

from datetime import timedelta
from decimal import Decimal

import pytest
import responses
from django.utils import timezone

from hcm.lowcode.models import TransitionLog
from hcm.mall.models import Order
from hcm.notifications import backends
from hcm.payments.models import Payment, Refund
from hcm.payments.tasks import reconcile
from hcm.wallet.models import LedgerEntry
from tests.conftest import staff_client
from tests.payments import wechat_fake

pytestmark = pytest.mark.django_db(transaction=True)
API = "/api/v1/shop/patient/"
STAFF = "/api/v1/shop/staff/orders/"
NOTIFY = "/api/v1/shop/payments/wechat/"


def paid_order(buyer, product, method: str, api=None) -> dict:
    order = buyer.post(API + "checkout/", {"items": [{"product": product.pk}]}, format="json").json()
    body = {"method": method, "password": "246810"} if method == "balance" else {"method": method}
    buyer.post(f"{API}orders/{order['id']}/pay/", body, format="json")
    if method == "wechat":
        payment = Payment.objects.get(payable_id=order["id"])
        api.post(
            NOTIFY + "payment-notify/",
            wechat_fake.payment_notification(out_trade_no=payment.out_trade_no, total_fee=29900),
            content_type="text/xml",
        )
    return order


def test_a_balance_refund_restores_the_ledger(buyer, package, card, cashier):
    order = paid_order(buyer, package, "balance")
    requested = buyer.post(f"{API}orders/{order['id']}/request_refund/", {"reason": "改期"}, format="json")
    assert requested.status_code == 200 and requested.json()["state"] == "refunding"

    approved = staff_client(cashier).post(f"{STAFF}{order['id']}/approve_refund/", {}, format="json")

    assert approved.status_code == 200, approved.json()
    assert approved.json()["state"] == "refunded"
    card.refresh_from_db()
    assert card.balance == Decimal("1000.00")
    refund_entry = LedgerEntry.objects.get(kind="refund")
    assert (refund_entry.amount, refund_entry.balance_after) == (Decimal("299.00"), Decimal("1000.00"))
    payment = Payment.objects.get()
    assert (payment.state, payment.refunded_amount) == ("refunded", Decimal("299.00"))
    assert [n.event for n in backends.outbox] == ["order_paid", "refund"]


def test_a_refund_can_be_rejected(buyer, package, card, cashier):
    order = paid_order(buyer, package, "balance")
    buyer.post(f"{API}orders/{order['id']}/request_refund/", {"reason": "改期"}, format="json")
    rejected = staff_client(cashier).post(f"{STAFF}{order['id']}/reject_refund/", {"reason": "已体检"}, format="json")
    assert rejected.json()["state"] == "paid"
    card.refresh_from_db()
    assert card.balance == Decimal("701.00") and not Refund.objects.exists()


@responses.activate
def test_a_wechat_refund_finishes_on_wechats_refund_notification(buyer, package, cashier, api):
    wechat_fake.stub_unified_order()
    wechat_fake.stub_refund(refund_id="WX-REFUND-1")
    order = paid_order(buyer, package, "wechat", api)
    buyer.post(f"{API}orders/{order['id']}/request_refund/", {"reason": "不需要了"}, format="json")

    approved = staff_client(cashier).post(f"{STAFF}{order['id']}/approve_refund/", {}, format="json")

    assert approved.json()["state"] == "refunding"  # accepted by WeChat, not done yet
    refund = Refund.objects.get()
    sent = wechat_fake.requests_to("secapi/pay/refund")[0]
    assert (sent["out_refund_no"], sent["refund_fee"], sent["total_fee"]) == (refund.out_refund_no, "29900", "29900")
    assert (refund.state, refund.refund_id) == ("processing", "WX-REFUND-1")

    body = wechat_fake.refund_notification(
        out_refund_no=refund.out_refund_no, out_trade_no=refund.payment.out_trade_no, refund_fee=29900, total_fee=29900
    )
    first = api.post(NOTIFY + "refund-notify/", body, content_type="text/xml")
    again = api.post(NOTIFY + "refund-notify/", body, content_type="text/xml")

    assert b"SUCCESS" in first.content and first.content == again.content
    refund.refresh_from_db()
    assert refund.state == "succeeded"
    assert Order.objects.get().state == "refunded" and Payment.objects.get().state == "refunded"
    assert [n.event for n in backends.outbox] == ["order_paid", "refund"]
    forged = body.replace(b"<req_info>", b"<req_info>AAAA")
    assert b"FAIL" in api.post(NOTIFY + "refund-notify/", forged, content_type="text/xml").content


@responses.activate
def test_reconciliation_completes_a_payment_whose_notification_never_came(buyer, package):
    wechat_fake.stub_unified_order()
    order = buyer.post(API + "checkout/", {"items": [{"product": package.pk}]}, format="json").json()
    buyer.post(f"{API}orders/{order['id']}/pay/", {"method": "wechat"}, format="json")
    payment = Payment.objects.get()
    Payment.objects.update(created_at=timezone.now() - timedelta(minutes=3))
    wechat_fake.stub_query(
        trade_state="SUCCESS", out_trade_no=payment.out_trade_no, total_fee=29900, transaction_id="4200-RECON"
    )

    assert reconcile() == {"payment paid": 1}

    payment.refresh_from_db()
    assert (payment.state, payment.transaction_id) == ("paid", "4200-RECON")
    assert Order.objects.get().state == "paid"


@responses.activate
def test_reconciliation_closes_an_expired_unpaid_wechat_payment_after_asking(buyer, package):
    wechat_fake.stub_unified_order()
    wechat_fake.stub_query(trade_state="NOTPAY")
    wechat_fake.stub_close()
    order = buyer.post(API + "checkout/", {"items": [{"product": package.pk}]}, format="json").json()
    buyer.post(f"{API}orders/{order['id']}/pay/", {"method": "wechat"}, format="json")
    Payment.objects.update(created_at=timezone.now() - timedelta(minutes=3))
    assert reconcile() == {"payment waiting": 1}  # younger than its expiry: left open

    Payment.objects.update(created_at=timezone.now() - timedelta(minutes=20), expires_at=timezone.now())

    assert reconcile() == {"payment closed": 1}
    assert Payment.objects.get().state == "closed" and len(wechat_fake.requests_to("pay/closeorder")) == 1


@responses.activate
def test_money_taken_after_the_order_was_cancelled_goes_back(buyer, package, api):
    wechat_fake.stub_unified_order()
    wechat_fake.stub_refund()
    order = buyer.post(API + "checkout/", {"items": [{"product": package.pk}]}, format="json").json()
    buyer.post(f"{API}orders/{order['id']}/pay/", {"method": "wechat"}, format="json")
    buyer.post(f"{API}orders/{order['id']}/cancel/", {}, format="json")
    payment = Payment.objects.get()

    response = api.post(
        NOTIFY + "payment-notify/",
        wechat_fake.payment_notification(out_trade_no=payment.out_trade_no, total_fee=29900),
        content_type="text/xml",
    )

    assert b"SUCCESS" in response.content
    payment.refresh_from_db()
    assert payment.state == "duplicate" and Order.objects.get().state == "cancelled"
    assert Refund.objects.get().amount == Decimal("299.00")
    assert len(wechat_fake.requests_to("secapi/pay/refund")) == 1


def test_an_idempotency_key_on_a_refund_request_replays_the_first_answer(buyer, package, card):
    order = buyer.post(API + "checkout/", {"items": [{"product": package.pk}]}, format="json").json()
    buyer.post(f"{API}orders/{order['id']}/pay/", {"method": "balance", "password": "246810"}, format="json")
    url = f"{API}orders/{order['id']}/request_refund/"

    first = buyer.post(url, {"reason": "行程有变"}, format="json", HTTP_IDEMPOTENCY_KEY="refund-1")
    again = buyer.post(url, {"reason": "行程有变"}, format="json", HTTP_IDEMPOTENCY_KEY="refund-1")
    other = buyer.post(url, {"reason": "不想去了"}, format="json", HTTP_IDEMPOTENCY_KEY="refund-1")
    without_key = buyer.post(url, {"reason": "行程有变"}, format="json")

    assert first.status_code == 200 and first.json()["state"] == "refunding"
    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert without_key.status_code == 409  # a second request without a key meets the state machine
    assert TransitionLog.objects.filter(transition="request_refund").count() == 1

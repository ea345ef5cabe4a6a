"""Races on one order, with real threads on PostgreSQL: concurrent balance payments, paying
while the patient cancels, WeChat's repeated notifications, and two methods settling at once.
Whatever the interleaving, the order is paid at most once and the card debited at most once."""

import threading
import time
from collections.abc import Callable
from decimal import Decimal

import pytest
import responses
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from hcm.lowcode.errors import DomainError
from hcm.lowcode.models import TransitionLog
from hcm.lowcode.transitions import TransitionRefused, transition_apply
from hcm.mall import services
from hcm.mall.models import Order
from hcm.notifications.models import Notification
from hcm.patients.models import PatientToken
from hcm.payments import services as payment_services
from hcm.payments import wechatpay
from hcm.payments.models import Payment, Refund
from hcm.wallet.models import LedgerEntry
from hcm.wallet.selectors import ledger_mismatches
from tests.payments import wechat_fake

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite cannot show row locks"),
    pytest.mark.django_db(transaction=True),
]

HOLD_SECONDS = 0.3
API = "/api/v1/shop/patient/"
NOTIFY = "/api/v1/shop/payments/wechat/payment-notify/"


def race(*jobs: Callable[[], str]) -> list[str]:
    """Run the jobs at the same moment, each in its own thread and database connection;
    their outcomes, sorted."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = []

    def run(job: Callable[[], str]) -> None:
        try:
            barrier.wait()
            outcomes.append(job())
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == len(jobs), "a thread died"
    return sorted(outcomes)


def pause_inside(monkeypatch, module, name: str) -> threading.Event:
    """Make `module.name` (called while the order row is locked) hold its transaction open a
    while; the event tells the other side it is now inside."""
    inside = threading.Event()
    original = getattr(module, name)

    def paused(*args, **kwargs):
        inside.set()
        time.sleep(HOLD_SECONDS)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, paused)
    return inside


def while_held(inside: threading.Event, job: Callable[[], str]) -> Callable[[], str]:
    """`job`, started only when the other side holds the order's lock."""

    def later() -> str:
        assert inside.wait(timeout=10)
        return job()

    return later


def place_order(account, product) -> Order:
    return services.order_create(account=account, patient=account.current_patient, lines=[services.Line(product.pk, 1)])


def pay_by_balance(order: Order) -> Callable[[], str]:
    def job() -> str:
        try:
            services.order_pay(
                order=Order.objects.get(pk=order.pk),
                account=order.account,
                method="balance",
                password="246810",
                client_ip="127.0.0.1",
            )
        except DomainError as refused:
            return refused.code
        return "paid"

    return job


def notify_wechat(body: bytes) -> Callable[[], str]:
    def job() -> str:
        answer = Client().post(NOTIFY, body, content_type="text/xml").content.decode()
        return "notified" if answer == wechatpay.reply(True) else answer

    return job


def purchases() -> list[tuple]:
    return list(LedgerEntry.objects.filter(kind="purchase").order_by("pk").values_list("amount", "reference"))


@pytest.mark.parametrize("threads", [2, 8])
def test_concurrent_balance_payments_of_one_order_debit_the_card_once(threads, monkeypatch, account, card, package):
    order = place_order(account, package)
    pause_inside(monkeypatch, services, "order_paid")  # the first holds the lock while the others come

    outcomes = race(*[pay_by_balance(order)] * threads)

    assert outcomes == ["not_payable"] * (threads - 1) + ["paid"]
    payment = Payment.objects.get()  # the refused attempts left no payment behind
    assert (payment.state, payment.method, payment.amount) == ("paid", "balance", Decimal("299.00"))
    order.refresh_from_db()
    assert (order.state, order.payment_method) == ("paid", "balance")
    card.refresh_from_db()
    assert card.balance == Decimal("701.00")
    assert purchases() == [(Decimal("-299.00"), f"payment:{payment.pk}")]
    assert ledger_mismatches() == []
    assert TransitionLog.objects.filter(transition="mark_paid").count() == 1
    assert Notification.objects.filter(event="order_paid").count() == 1


@pytest.mark.parametrize("threads", [2, 8])
def test_concurrent_pay_requests_from_separate_clients_debit_the_card_once(
    threads, monkeypatch, account, card, package
):
    order = place_order(account, package)
    pause_inside(monkeypatch, services, "order_paid")
    tokens = [PatientToken.issue(account)[1] for _ in range(threads)]  # as if from several devices

    def pay_request(token: str) -> Callable[[], str]:
        def job() -> str:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
            response = client.post(
                f"{API}orders/{order.pk}/pay/", {"method": "balance", "password": "246810"}, format="json"
            )
            return f"{response.status_code} {response.json().get('code') or response.json()['payment']['state']}"

        return job

    outcomes = race(*[pay_request(token) for token in tokens])

    assert outcomes == ["200 paid"] + ["409 not_payable"] * (threads - 1)
    payment = Payment.objects.get()
    assert (payment.state, payment.method) == ("paid", "balance")
    assert Order.objects.get().state == "paid"
    card.refresh_from_db()
    assert card.balance == Decimal("701.00")
    assert purchases() == [(Decimal("-299.00"), f"payment:{payment.pk}")]
    assert ledger_mismatches() == []


def cancel_by_patient(order: Order) -> Callable[[], str]:
    def job() -> str:
        try:
            transition_apply(obj=Order.objects.get(pk=order.pk), name="cancel", actor=order.account, data={})
        except TransitionRefused as refused:
            return refused.code
        return "cancelled"

    return job


def test_a_cancel_arriving_while_the_payment_holds_the_order_is_refused(monkeypatch, account, card, package):
    order = place_order(account, package)
    paying = pause_inside(monkeypatch, services, "order_paid")

    outcomes = race(pay_by_balance(order), while_held(paying, cancel_by_patient(order)))

    assert outcomes == ["paid", "transition_not_allowed"]
    order.refresh_from_db()
    assert (order.state, order.payment_method, order.cancelled_at) == ("paid", "balance", None)
    payment = Payment.objects.get()
    assert payment.state == "paid"
    card.refresh_from_db()
    assert card.balance == Decimal("701.00")
    assert purchases() == [(Decimal("-299.00"), f"payment:{payment.pk}")]
    assert list(TransitionLog.objects.values_list("transition", flat=True)) == ["mark_paid"]


def test_a_payment_arriving_while_the_cancel_holds_the_order_is_refused(monkeypatch, account, card, package):
    order = place_order(account, package)
    cancelling = pause_inside(monkeypatch, payment_services, "payable_close_open_payments")

    outcomes = race(cancel_by_patient(order), while_held(cancelling, pay_by_balance(order)))

    assert outcomes == ["cancelled", "not_payable"]
    order.refresh_from_db()
    assert (order.state, order.payment_method, order.paid_at) == ("cancelled", "", None)
    assert not Payment.objects.exists()
    card.refresh_from_db()
    assert card.balance == Decimal("1000.00") and purchases() == []
    assert list(TransitionLog.objects.values_list("transition", flat=True)) == ["cancel"]


def test_paying_while_the_patient_cancels_ends_paid_or_cancelled_never_both(account, card, eye_test):
    rounds = 10
    orders = [place_order(account, eye_test) for _ in range(rounds)]  # 45.50 each: the card covers all

    results = {order.pk: race(pay_by_balance(order), cancel_by_patient(order)) for order in orders}

    paid = [pk for pk, outcome in results.items() if outcome == ["paid", "transition_not_allowed"]]
    cancelled = [pk for pk, outcome in results.items() if outcome == ["cancelled", "not_payable"]]
    assert sorted(paid + cancelled) == sorted(results), results  # one of the two, every time
    assert sorted(Order.objects.filter(state="paid").values_list("pk", flat=True)) == sorted(paid)
    assert sorted(Order.objects.filter(state="cancelled").values_list("pk", flat=True)) == sorted(cancelled)
    assert not Order.objects.filter(state="cancelled", paid_at__isnull=False).exists()
    assert not Order.objects.filter(state="paid", cancelled_at__isnull=False).exists()
    assert sorted(Payment.objects.values_list("payable_id", "state")) == [(pk, "paid") for pk in sorted(paid)]
    debits = {reference: amount for amount, reference in purchases()}
    assert debits == {f"payment:{p.pk}": Decimal("-45.50") for p in Payment.objects.all()}
    card.refresh_from_db()
    assert card.balance == Decimal("1000.00") - Decimal("45.50") * len(paid)
    assert ledger_mismatches() == []


@responses.activate
def test_repeated_wechat_notifications_arriving_together_mark_the_payment_paid_once(monkeypatch, account, package):
    wechat_fake.stub_unified_order()
    order = place_order(account, package)
    payment = services.order_pay(order=order, account=account, method="wechat", password="", client_ip="10.0.0.1")
    body = wechat_fake.payment_notification(out_trade_no=payment.payment.out_trade_no, total_fee=29900)
    pause_inside(monkeypatch, services, "order_paid")  # the first holds the lock while the others come

    outcomes = race(*[notify_wechat(body)] * 8)

    assert outcomes == ["notified"] * 8  # every one answered SUCCESS
    paid = Payment.objects.get()
    assert (paid.state, paid.transaction_id) == ("paid", "4200000000000000000000000001")
    order.refresh_from_db()
    assert (order.state, order.payment_method) == ("paid", "wechat")
    assert TransitionLog.objects.filter(transition="mark_paid").count() == 1
    assert Notification.objects.filter(event="order_paid").count() == 1
    assert not Refund.objects.exists()


@responses.activate
def test_a_wechat_notification_arriving_while_the_balance_pays_returns_wechats_money(
    monkeypatch, account, card, package
):
    wechat_fake.stub_unified_order()
    wechat_fake.stub_refund(refund_id="WX-REFUND-RACE")
    order = place_order(account, package)
    by_wechat = services.order_pay(order=order, account=account, method="wechat", password="", client_ip="").payment
    body = wechat_fake.payment_notification(out_trade_no=by_wechat.out_trade_no, total_fee=29900)
    paying = pause_inside(monkeypatch, services, "order_paid")

    outcomes = race(pay_by_balance(order), while_held(paying, notify_wechat(body)))

    assert outcomes == ["notified", "paid"]
    by_balance = Payment.objects.get(method="balance")
    by_wechat.refresh_from_db()
    order.refresh_from_db()
    assert (order.state, order.payment_method) == ("paid", "balance")
    assert (by_balance.state, by_wechat.state) == ("paid", "duplicate")
    card.refresh_from_db()
    assert card.balance == Decimal("701.00")
    assert purchases() == [(Decimal("-299.00"), f"payment:{by_balance.pk}")]
    refund = Refund.objects.get()  # the second charge goes back to WeChat at once
    assert (refund.payment, refund.amount, refund.state, refund.refund_id) == (
        by_wechat,
        Decimal("299.00"),
        "processing",
        "WX-REFUND-RACE",
    )
    assert len(wechat_fake.requests_to("secapi/pay/refund")) == 1
    assert TransitionLog.objects.filter(transition="mark_paid").count() == 1


@responses.activate
def test_a_balance_payment_arriving_while_wechat_settles_is_refused(monkeypatch, account, card, package):
    wechat_fake.stub_unified_order()
    order = place_order(account, package)
    by_wechat = services.order_pay(order=order, account=account, method="wechat", password="", client_ip="").payment
    body = wechat_fake.payment_notification(out_trade_no=by_wechat.out_trade_no, total_fee=29900)
    settling = pause_inside(monkeypatch, services, "order_paid")

    outcomes = race(notify_wechat(body), while_held(settling, pay_by_balance(order)))

    assert outcomes == ["not_payable", "notified"]
    by_wechat.refresh_from_db()
    order.refresh_from_db()
    assert (order.state, order.payment_method, by_wechat.state) == ("paid", "wechat", "paid")
    assert list(Payment.objects.values_list("method", flat=True)) == ["wechat"]
    card.refresh_from_db()
    assert card.balance == Decimal("1000.00") and purchases() == []
    assert not Refund.objects.exists()
    assert TransitionLog.objects.filter(transition="mark_paid").count() == 1

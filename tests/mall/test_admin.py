"""The mall in the admin: the cashier's order list, confirming a counter payment and approving a
refund with the change page's buttons, the export for finance, and read-only payments and refunds."""

import io
import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import responses
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from hcm.hospitals.roles import Role
from hcm.lowcode.models import TransitionLog
from hcm.lowcode.transitions import transition_apply
from hcm.mall import services
from hcm.mall.models import Order
from hcm.notifications.models import Notification
from hcm.patients.models import Binding, PatientRecord, WechatAccount
from hcm.payments import services as payments
from hcm.payments.models import Payment, Refund
from hcm.wallet import services as wallet
from hcm.wallet.models import LedgerEntry
from tests.conftest import make_hospital, make_operator
from tests.factories import id_number
from tests.mall.conftest import SHOP, make_product
from tests.payments import wechat_fake

CHINA = ZoneInfo("Asia/Shanghai")


def logged_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def url(name: str, *args) -> str:
    return reverse(f"admin:{name}", args=args)


def place_order(account: WechatAccount, product, quantity: int = 1) -> Order:
    lines = [services.Line(product.pk, quantity)]
    return services.order_create(account=account, patient=account.current_patient, lines=lines)


def pay(order: Order, method: str) -> Payment:
    start = services.order_pay(
        order=order, account=order.account, method=method, password="246810", client_ip="127.0.0.1"
    )
    return start.payment


def request_refund(order: Order, reason: str = "改期") -> None:
    transition_apply(obj=order, name="request_refund", actor=order.account, data={"reason": reason})


def buttons(response) -> list[str]:
    """The transitions the change page offers as buttons, in page order."""
    return re.findall(r'name="_fsm_transition_to" value="(\w+)"', response.content.decode())


def change_form_data(response) -> dict:
    """What the browser posts back from a change page: the form's and the inlines' current values."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    return {bound.html_name: bound.value() for form in forms for bound in form if bound.value() is not None}


def press(client: Client, order: Order, transition: str):
    """Press a transition button on the order's change page (it submits the change form)."""
    page = client.get(url("mall_order_change", order.pk))
    return client.post(url("mall_order_change", order.pk), {**change_form_data(page), "_fsm_transition_to": transition})


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def results(response) -> list:
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def order_row(order: Order) -> tuple:
    order.refresh_from_db()
    return (order.state, order.payment_method, order.paid_at is not None)


def logs() -> list[tuple]:
    return list(
        TransitionLog.objects.order_by("pk").values_list(
            "transition", "source_state", "target_state", "actor__username", "actor_label", "data"
        )
    )


@pytest.fixture
def other_account(db):
    """A paying patient of another hospital with the same configuration."""
    other = make_hospital("other", name="别家医院", extra=SHOP)
    patient = PatientRecord.objects.create(
        hospital=other, medical_card_number="M9", name="林大海", id_number=id_number(), phone="13900000000"
    )
    account = WechatAccount.objects.create(hospital=other, openid="oOther0001", current_patient=patient)
    Binding.objects.create(hospital=other, account=account, patient=patient)
    card = wallet.account_issue(patient=patient, password="246810", operator=None)
    wallet.account_credit(account=card, amount=Decimal("1000.00"), kind="adjustment", reference="test:opening")
    return account


@pytest.fixture
def their_order(other_account) -> Order:
    order = place_order(other_account, make_product(other_account.hospital, code="PKG-9", price="199.00"))
    pay(order, "balance")
    return order


@pytest.fixture
def stranger(other_account):
    return make_operator("cashier_other", hospital=other_account.hospital, role=Role.CASHIER)


@pytest.fixture
def finance(hospital):
    return make_operator("finance_shop", hospital=hospital, role=Role.FINANCE)


# --- The order list -------------------------------------------------------------------------


def test_the_cashier_lists_only_their_hospitals_orders(account, card, package, cashier, their_order):
    waiting = place_order(account, package)
    paid = place_order(account, package)
    pay(paid, "balance")

    response = logged_in(cashier).get(url("mall_order_changelist"))

    page = response.content.decode()
    assert results(response) == [paid, waiting]
    assert waiting.number in page and paid.number in page
    assert their_order.number not in page and "别家医院" not in page


def test_the_order_list_filters_by_state_method_and_date_and_searches_by_number(
    account, card, package, cashier, their_order
):
    waiting = place_order(account, package)
    at_counter = place_order(account, package)
    pay(at_counter, "at_hospital")
    paid = place_order(account, package)
    pay(paid, "balance")
    Order.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(days=40))
    client = logged_in(cashier)
    changelist = url("mall_order_changelist")
    listing = client.get(changelist).context["cl"]
    by_date = next(spec for spec in listing.filter_specs if getattr(spec, "field_path", "") == "created_at")
    past_week = next(choice for choice in by_date.choices(listing) if choice["display"] == "Past 7 days")

    assert results(client.get(changelist, {"state__exact": "paid"})) == [paid]
    assert results(client.get(changelist, {"state__exact": "pending_payment"})) == [at_counter, waiting]
    assert results(client.get(changelist, {"payment_method": "at_hospital"})) == [at_counter]
    assert results(client.get(changelist, {"payment_method": "balance"})) == [paid]
    assert results(client.get(changelist + past_week["query_string"])) == [paid, at_counter]
    assert results(client.get(changelist, {"q": waiting.number})) == [waiting]
    assert results(client.get(changelist, {"q": their_order.number})) == []  # another hospital's number


# --- Confirming a counter payment ---------------------------------------------------------------


def test_confirm_payment_is_offered_only_for_orders_to_pay_at_the_hospital(account, card, package, cashier):
    at_counter = place_order(account, package)
    pay(at_counter, "at_hospital")
    undecided = place_order(account, package)
    paid = place_order(account, package)
    pay(paid, "balance")
    client = logged_in(cashier)

    assert buttons(client.get(url("mall_order_change", at_counter.pk))) == ["cancel", "confirm_payment"]
    assert buttons(client.get(url("mall_order_change", undecided.pk))) == ["cancel"]
    assert buttons(client.get(url("mall_order_change", paid.pk))) == ["complete", "request_refund"]


def test_the_cashier_confirms_a_counter_payment_with_the_button(account, package, cashier):
    order = place_order(account, package)
    payment = pay(order, "at_hospital")
    client = logged_in(cashier)

    pressed = press(client, order, "confirm_payment")
    form_page = client.get(pressed["Location"])
    done = client.post(pressed["Location"], {"note": "现金 收据 0042"}, follow=True)

    assert pressed.status_code == 302
    assert pressed["Location"] == url("mall_order_transition", order.pk, "confirm_payment")
    assert form_page.status_code == 200 and list(form_page.context["transition_form"].fields) == ["note"]
    assert done.redirect_chain == [(url("mall_order_change", order.pk), 302)]
    assert messages_of(done) == ["“Confirm payment at the counter” done."]
    assert order_row(order) == ("paid", "at_hospital", True)
    payment.refresh_from_db()
    assert (payment.state, payment.collected_by, payment.collection_note, payment.paid_at is not None) == (
        "paid",
        cashier,
        "现金 收据 0042",
        True,
    )
    assert logs() == [
        ("mark_paid", "pending_payment", "paid", None, "system", {"payment_method": "at_hospital"}),
        ("confirm_payment", "pending_payment", "paid", "cashier_shop", "cashier_shop", {"note": "现金 收据 0042"}),
    ]
    assert list(Notification.objects.order_by("pk").values_list("event", flat=True)) == ["order_placed", "order_paid"]
    assert buttons(done) == ["complete", "request_refund"]


def test_a_confirmation_without_a_note_is_shown_again_and_changes_nothing(account, package, cashier):
    order = place_order(account, package)
    payment = pay(order, "at_hospital")

    response = logged_in(cashier).post(url("mall_order_transition", order.pk, "confirm_payment"), {"note": ""})

    assert response.status_code == 200
    assert response.context["transition_form"].errors == {"note": ["This field is required."]}
    assert order_row(order) == ("pending_payment", "at_hospital", False)
    payment.refresh_from_db()
    assert (payment.state, payment.collected_by, payment.collection_note) == ("pending", None, "")
    assert logs() == []


def test_an_order_not_chosen_for_the_counter_cannot_be_confirmed(account, package, cashier):
    order = place_order(account, package)

    response = logged_in(cashier).post(
        url("mall_order_transition", order.pk, "confirm_payment"), {"note": "现金"}, follow=True
    )

    assert messages_of(response) == ["The order has no unpaid pay-at-hospital payment to confirm."]
    assert order_row(order) == ("pending_payment", "", False)
    assert not Payment.objects.exists() and logs() == []


# --- Approving a refund -------------------------------------------------------------------------


def test_the_cashier_approves_a_balance_refund_and_the_card_is_credited(account, card, package, cashier):
    order = place_order(account, package)
    payment = pay(order, "balance")
    request_refund(order)
    client = logged_in(cashier)
    assert buttons(client.get(url("mall_order_change", order.pk))) == ["approve_refund", "reject_refund"]

    pressed = press(client, order, "approve_refund")
    done = client.get(pressed["Location"])

    assert pressed.status_code == 302 and pressed["Location"] == url("mall_order_change", order.pk)
    assert messages_of(done) == ["“Approve the refund” done."]
    assert order_row(order) == ("refunded", "balance", True)
    card.refresh_from_db()
    assert card.balance == Decimal("1000.00")
    refund = Refund.objects.get()
    assert (refund.payment, refund.amount, refund.state, refund.reason, refund.requested_by) == (
        payment,
        Decimal("299.00"),
        "succeeded",
        "改期",
        cashier,
    )
    entry = LedgerEntry.objects.get(kind="refund")
    assert (entry.account, entry.amount, entry.balance_after, entry.reference) == (
        card,
        Decimal("299.00"),
        Decimal("1000.00"),
        f"refund:{refund.pk}",
    )
    payment.refresh_from_db()
    assert (payment.state, payment.refunded_amount) == ("refunded", Decimal("299.00"))
    assert logs() == [
        ("mark_paid", "pending_payment", "paid", None, "system", {"payment_method": "balance"}),
        ("request_refund", "paid", "refunding", None, "oBuyer0001", {"reason": "改期"}),
        ("mark_refunded", "refunding", "refunded", None, "system", {}),
        ("approve_refund", "refunding", "refunded", "cashier_shop", "cashier_shop", {}),
    ]
    assert buttons(done) == []


# --- Refusals ------------------------------------------------------------------------------------


def test_an_operator_of_another_hospital_can_neither_confirm_nor_approve(account, card, package, stranger):
    at_counter = place_order(account, package)
    counter_payment = pay(at_counter, "at_hospital")
    refunding = place_order(account, package)
    pay(refunding, "balance")
    request_refund(refunding)
    logs_before = logs()
    client = logged_in(stranger)

    answers = [
        client.get(url("mall_order_change", at_counter.pk)),
        client.post(url("mall_order_change", at_counter.pk), {"_fsm_transition_to": "confirm_payment"}),
        client.get(url("mall_order_transition", at_counter.pk, "confirm_payment")),
        client.post(url("mall_order_transition", at_counter.pk, "confirm_payment"), {"note": "现金"}),
        client.post(url("mall_order_change", refunding.pk), {"_fsm_transition_to": "approve_refund"}),
        client.post(url("mall_order_transition", refunding.pk, "approve_refund")),
    ]

    # The admin's answer for a row that does not exist: back to the index, nothing revealed.
    assert [(a.status_code, a["Location"]) for a in answers] == [(302, url("index"))] * 6
    assert order_row(at_counter) == ("pending_payment", "at_hospital", False)
    assert order_row(refunding) == ("refunding", "balance", True)
    counter_payment.refresh_from_db()
    assert (counter_payment.state, counter_payment.collected_by) == ("pending", None)
    card.refresh_from_db()
    assert card.balance == Decimal("701.00") and not Refund.objects.exists()
    assert logs() == logs_before


def test_an_operator_who_may_only_view_orders_can_neither_confirm_nor_approve(account, card, package, finance):
    at_counter = place_order(account, package)
    counter_payment = pay(at_counter, "at_hospital")
    refunding = place_order(account, package)
    pay(refunding, "balance")
    request_refund(refunding)
    logs_before = logs()
    client = logged_in(finance)

    changed = client.post(url("mall_order_change", at_counter.pk), {"_fsm_transition_to": "confirm_payment"})
    confirmed = client.post(url("mall_order_transition", at_counter.pk, "confirm_payment"), {"note": "现金"})
    approved = client.post(url("mall_order_change", refunding.pk), {"_fsm_transition_to": "approve_refund"})

    assert changed.status_code == approved.status_code == confirmed.status_code == 403
    page = client.get(url("mall_order_change", at_counter.pk)).content.decode()
    assert "confirm_payment" not in page and "_fsm_transition_to" not in page  # no buttons for a viewer
    assert order_row(at_counter) == ("pending_payment", "at_hospital", False)
    assert order_row(refunding) == ("refunding", "balance", True)
    counter_payment.refresh_from_db()
    assert (counter_payment.state, counter_payment.collected_by) == ("pending", None)
    card.refresh_from_db()
    assert card.balance == Decimal("701.00") and not Refund.objects.exists()
    assert logs() == logs_before


# --- Export, import, add, delete -----------------------------------------------------------------


def test_the_order_export_holds_only_the_operators_hospitals_orders(
    account, card, package, eye_test, cashier, their_order
):
    paid = place_order(account, package)
    pay(paid, "balance")
    waiting = place_order(account, eye_test, quantity=2)
    Order.objects.filter(pk=paid.pk).update(
        created_at=datetime(2026, 3, 1, 9, 30, tzinfo=CHINA), paid_at=datetime(2026, 3, 1, 9, 35, tzinfo=CHINA)
    )
    Order.objects.filter(pk=waiting.pk).update(created_at=datetime(2026, 3, 2, 14, 0, tzinfo=CHINA))
    client = logged_in(cashier)
    form = client.get(url("mall_order_export")).context["form"]
    xlsx = next(value for value, label in form.fields["format"].choices if label == "xlsx")

    response = client.post(url("mall_order_export"), {"format": xlsx, "resource": "0"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows == [
        ("hospital", "number", "patient", "total", "state", "payment_method", "paid_at", "created_at"),
        ("shop", waiting.number, "M1", "91.00", "pending_payment", None, None, "2026-03-02 14:00:00"),
        ("shop", paid.number, "M1", "299.00", "paid", "Balance card", "2026-03-01 09:35:00", "2026-03-01 09:30:00"),
    ]


def test_orders_are_never_imported_added_or_deleted_in_the_admin(hospital, account, card, package, cashier):
    boss = make_operator("boss_shop", hospital=hospital, role=Role.HOSPITAL_ADMIN)
    order = place_order(account, package)
    payment = pay(order, "balance")
    model_admin = admin.site._registry[Order]
    request = RequestFactory().get("/admin/")
    request.user = boss
    client = logged_in(boss)

    page = client.get(url("mall_order_changelist")).content.decode()
    answers = [
        client.get(url("mall_order_import")),
        client.get(url("mall_order_add")),
        client.post(url("mall_order_add"), {"hospital": hospital.pk, "items-TOTAL_FORMS": 0, "items-INITIAL_FORMS": 0}),
        client.post(url("mall_order_delete", order.pk), {"post": "yes"}),
        logged_in(cashier).get(url("mall_order_add")),
    ]
    deleting = client.get(url("mall_order_delete", order.pk))

    assert [a.status_code for a in answers] == [403] * 5
    # Made by checkout only: no delete page (it could only ever say the lines may not be deleted).
    assert deleting.status_code == 403
    assert not model_admin.has_import_permission(request)
    assert not model_admin.has_add_permission(request)
    assert url("mall_order_import") not in page and url("mall_order_add") not in page
    assert url("mall_order_export") in page
    assert list(Order.objects.all()) == [order] and list(Payment.objects.all()) == [payment]


# --- Payments and refunds ------------------------------------------------------------------------


@pytest.fixture
def money(account, card, package, eye_test, their_order):
    """At the shop: a balance payment refunded, a pay-at-hospital payment waiting, a WeChat payment
    paid and being refunded (WeChat has not confirmed); the other hospital's paid order as well."""
    refunded = place_order(account, package)
    by_balance = pay(refunded, "balance")
    payments.payment_refund(payment=by_balance, reason="改期", actor=None)
    counter = pay(place_order(account, eye_test), "at_hospital")
    with responses.mock:
        wechat_fake.stub_unified_order()
        by_wechat = pay(place_order(account, package, quantity=2), "wechat")
    body = wechat_fake.payment_notification(out_trade_no=by_wechat.out_trade_no, total_fee=59800)
    payments.wechat_payment_notified(hospital=account.hospital, body=body)
    by_wechat.refresh_from_db()
    payments.payment_refund(payment=by_wechat, amount=Decimal("100.00"), reason="少做一项", actor=None)
    their_payment = Payment.objects.get(hospital=their_order.hospital)
    payments.payment_refund(payment=their_payment, reason="退款", actor=None)
    return {"balance": by_balance, "counter": counter, "wechat": by_wechat}


def test_payments_list_filters_by_state_and_method_and_is_read_only(money, cashier):
    by_balance, counter, by_wechat = money["balance"], money["counter"], money["wechat"]
    client = logged_in(cashier)
    changelist = url("payments_payment_changelist")

    page = client.get(changelist).content.decode()

    assert results(client.get(changelist)) == [by_wechat, counter, by_balance]  # not the other hospital's
    assert results(client.get(changelist, {"state__exact": "paid"})) == [by_wechat]
    assert results(client.get(changelist, {"state__exact": "pending"})) == [counter]
    assert results(client.get(changelist, {"state__exact": "refunded"})) == [by_balance]
    assert results(client.get(changelist, {"method__exact": "at_hospital"})) == [counter]
    assert results(client.get(changelist, {"method__exact": "wechat"})) == [by_wechat]
    assert results(client.get(changelist, {"q": by_balance.out_trade_no})) == [by_balance]
    assert url("payments_payment_add") not in page and url("payments_payment_import") not in page
    assert_read_only(client, "payments_payment", counter)
    counter.refresh_from_db()
    assert (counter.state, counter.amount, counter.collected_by) == ("pending", Decimal("45.50"), None)
    assert Payment.objects.count() == 4


def test_refunds_list_filters_by_state_and_method_and_is_read_only(money, cashier):
    balance_refund = Refund.objects.get(payment=money["balance"])
    wechat_refund = Refund.objects.get(payment=money["wechat"])
    client = logged_in(cashier)
    changelist = url("payments_refund_changelist")

    page = client.get(changelist).content.decode()

    assert results(client.get(changelist)) == [wechat_refund, balance_refund]  # not the other hospital's
    assert results(client.get(changelist, {"state__exact": "processing"})) == [wechat_refund]
    assert results(client.get(changelist, {"state__exact": "succeeded"})) == [balance_refund]
    assert results(client.get(changelist, {"state__exact": "failed"})) == []
    assert results(client.get(changelist, {"payment__method__exact": "wechat"})) == [wechat_refund]
    assert results(client.get(changelist, {"payment__method__exact": "balance"})) == [balance_refund]
    assert results(client.get(changelist, {"payment__method__exact": "at_hospital"})) == []
    assert results(client.get(changelist, {"q": wechat_refund.out_refund_no})) == [wechat_refund]
    assert url("payments_refund_add") not in page and url("payments_refund_import") not in page
    assert_read_only(client, "payments_refund", wechat_refund)
    wechat_refund.refresh_from_db()
    assert (wechat_refund.state, wechat_refund.amount) == ("processing", Decimal("100.00"))
    assert Refund.objects.count() == 3


def assert_read_only(client: Client, name: str, row) -> None:
    """Shown, never added, changed, deleted or imported, even by an operator who may change the app."""
    shown = client.get(url(f"{name}_change", row.pk))
    assert shown.status_code == 200
    assert (shown.context["has_add_permission"], shown.context["has_change_permission"]) == (False, False)
    assert shown.context["has_delete_permission"] is False
    refused = [
        client.get(url(f"{name}_add")),
        client.post(url(f"{name}_add"), {}),
        client.post(url(f"{name}_change", row.pk), {}),
        client.get(url(f"{name}_delete", row.pk)),
        client.post(url(f"{name}_delete", row.pk), {"post": "yes"}),
        client.get(url(f"{name}_import")),
    ]
    assert [r.status_code for r in refused] == [403] * 6

"""Outpatient payments in the admin: query by patient, prescription, date, state and method;
the settlement detail; an operator-started refund with the change page's button; the export."""

import io

import openpyxl
import pytest
from django.urls import reverse

from hcm.outpatient.models import OutpatientPayment
from tests.mall.test_admin import buttons, change_form_data, logged_in, messages_of, results
from tests.outpatient.test_paying import pay

pytestmark = pytest.mark.django_db(transaction=True)


def url(name: str, *args) -> str:
    return reverse(f"admin:outpatient_outpatientpayment_{name}", args=args)


@pytest.fixture
def two_payments(patient_client, card, fake_his):
    fake_his.control(fail_settle_numbers=["RX2"])
    pay(patient_client, ["RX1", "RX2"])
    fake_his.control(fail_settle_numbers=[])
    pay(patient_client, ["RX3"])
    return list(OutpatientPayment.objects.order_by("pk"))


def test_finance_queries_by_prescription_state_and_method(two_payments, finance):
    partial, whole = two_payments
    client = logged_in(finance)

    assert results(client.get(url("changelist"))) == [whole, partial]
    assert results(client.get(url("changelist"), {"q": "RX2"})) == [partial]
    assert results(client.get(url("changelist"), {"q": "M1"})) == [whole, partial]  # the medical card number
    assert results(client.get(url("changelist"), {"state__exact": "partially_refunded"})) == [partial]
    assert results(client.get(url("changelist"), {"payment_method__exact": "balance"})) == [whole, partial]
    assert results(client.get(url("changelist"), {"payment_method__exact": "wechat"})) == []


def test_the_detail_shows_each_prescriptions_settlement(two_payments, finance):
    partial, _whole = two_payments

    page = logged_in(finance).get(url("change", partial.pk)).content.decode()

    assert "RX1" in page and "RX2" in page
    line = partial.lines.get(number="RX1")
    assert line.receipt_number and line.receipt_number in page
    assert "Settlement failed, refunded" in page or "结算失败，已退款" in page


def test_finance_refunds_with_the_button(two_payments, finance, card, fake_his):
    _partial, whole = two_payments
    client = logged_in(finance)
    assert buttons(client.get(url("change", whole.pk))) == ["refund"]

    page = client.get(url("change", whole.pk))
    pressed = client.post(url("change", whole.pk), {**change_form_data(page), "_fsm_transition_to": "refund"})
    done = client.post(pressed["Location"], {"reason": "患者退检查"}, follow=True)

    assert messages_of(done) == ["“Refund” done."]
    whole.refresh_from_db()
    assert (whole.state, whole.refunded_amount, whole.refund_reason) == (
        "refunded",
        whole.self_pay_amount,
        "患者退检查",
    )
    assert fake_his.requests.count("POST /settlements/cancel") == 1


def test_a_cashier_sees_no_refund_button(two_payments, cashier):
    _partial, whole = two_payments

    assert buttons(logged_in(cashier).get(url("change", whole.pk))) == []


def test_the_export_lists_the_payments_and_nothing_is_imported(two_payments, finance):
    client = logged_in(finance)
    form = client.get(url("export")).context["form"]
    xlsx = next(value for value, label in form.fields["format"].choices if label == "xlsx")

    response = client.post(url("export"), {"format": xlsx, "resource": "0"})

    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("hospital", "number", "his_patient_id")
    assert sorted(row[1] for row in rows[1:]) == sorted(p.number for p in two_payments)
    assert client.get(url("import")).status_code == 403

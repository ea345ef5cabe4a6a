"""When settling goes wrong: a prescription the HIS refuses is refunded alone; a timeout or a
crash between charge and settlement is finished by reconciliation, never settled twice."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from hcm.notifications import backends
from hcm.outpatient import services, tasks
from hcm.outpatient.models import OutpatientPayment
from hcm.payments.models import Payment, Refund
from hcm.wallet.models import LedgerEntry
from tests.conftest import staff_client
from tests.outpatient.conftest import CODE
from tests.outpatient.test_paying import API, pay, unpaid_numbers

pytestmark = pytest.mark.django_db(transaction=True)


def a_while_later() -> None:
    """Time travel: the payment was last touched long enough ago for reconciliation to look."""
    OutpatientPayment.objects.update(updated_at=timezone.now() - timedelta(minutes=10))


def test_one_of_three_failing_is_refunded_alone_and_unpaid_again(patient_client, card, fake_his):
    fake_his.control(fail_settle_numbers=["RX2"])

    paid = pay(patient_client, ["RX1", "RX2", "RX3"])

    assert paid.status_code == 200, paid.json()
    outpatient = OutpatientPayment.objects.get()
    assert outpatient.state == "partially_refunded"
    lines = dict(outpatient.lines.values_list("number", "state"))
    assert lines == {"RX1": "settled", "RX2": "failed", "RX3": "settled"}
    assert outpatient.refunded_amount == Decimal("15.00")  # RX2's self-pay share only
    card.refresh_from_db()
    assert card.balance == Decimal("1000.00") - Decimal("175.00") + Decimal("15.00")
    refund = LedgerEntry.objects.get(kind="refund")
    assert refund.amount == Decimal("15.00")
    assert Refund.objects.get().state == "succeeded"
    assert Payment.objects.get().state == "partially_refunded"
    assert [(n.event, n.data["order"], n.data["amount"]) for n in backends.outbox] == [("refund", "RX2", "15.00 元")]
    assert unpaid_numbers(patient_client).count("RX2") == 1
    assert sorted(r["number"] for r in patient_client.get(API + "paid/").json()) == ["RX1", "RX3"]


def test_all_failing_refunds_everything(patient_client, card, fake_his):
    fake_his.control(fail_settle_numbers=["RX1"])

    pay(patient_client, ["RX1"])

    assert OutpatientPayment.objects.get().state == "refunded"
    card.refresh_from_db()
    assert card.balance == Decimal("1000.00")


def test_a_his_timeout_during_settlement_is_finished_by_reconciliation(patient_client, card, fake_his):
    fake_his.control(timeout_after_settle=["RX1"], slow_seconds=2)

    pay(patient_client, ["RX1", "RX3"])

    outpatient = OutpatientPayment.objects.get()
    assert outpatient.state == "settling"
    assert dict(outpatient.lines.values_list("number", "state")) == {"RX1": "pending", "RX3": "settled"}
    fake_his.control(timeout_after_settle=[])
    assert tasks.reconcile() == {}  # too fresh: its own settlement may still be under way

    a_while_later()
    assert tasks.reconcile() == {"settled": 1}

    outpatient.refresh_from_db()
    assert outpatient.state == "settled" and outpatient.refunded_amount == Decimal("0.00")
    assert fake_his.requests.count("POST /settlements") == 2  # RX1 was not settled again
    card.refresh_from_db()
    assert card.balance == Decimal("1000.00") - Decimal("160.00")


def test_a_crash_between_charge_and_settlement_is_settled_by_reconciliation(
    patient_client, card, fake_his, monkeypatch
):
    monkeypatch.setattr(services, "_queue_settle", lambda pk: None)  # the process died after the charge committed

    pay(patient_client, ["RX1"])

    assert OutpatientPayment.objects.get().state == "settling"
    assert "POST /settlements" not in fake_his.requests
    monkeypatch.undo()
    a_while_later()

    assert tasks.reconcile() == {"settled": 1}
    assert OutpatientPayment.objects.get().state == "settled"
    assert fake_his.requests.count("POST /settlements") == 1
    card.refresh_from_db()
    assert card.balance == Decimal("970.00")


def test_a_his_that_stays_down_leaves_the_payment_for_the_next_round(patient_client, card, fake_his):
    fake_his.control(timeout_before_settle=["RX1"], slow_seconds=2)
    pay(patient_client, ["RX1"])
    a_while_later()
    fake_his.control(error_rate=1.0)

    assert tasks.reconcile() == {"unreachable": 1}
    assert OutpatientPayment.objects.get().state == "settling"

    fake_his.control(error_rate=0.0, timeout_before_settle=[])
    assert tasks.reconcile() == {"settled": 1}
    assert fake_his.requests.count("POST /settlements") == 2


def test_an_operator_refunds_a_settled_payment(patient_client, card, finance, fake_his):
    pay(patient_client, ["RX1", "RX3"])
    outpatient = OutpatientPayment.objects.get()

    refunded = staff_client(finance).post(
        f"/api/v1/{CODE}/staff/outpatientpayments/{outpatient.pk}/refund/", {"reason": "患者退药"}, format="json"
    )

    assert refunded.status_code == 200, refunded.json()
    outpatient.refresh_from_db()
    assert outpatient.state == "refunded" and outpatient.refunded_amount == Decimal("160.00")
    assert fake_his.requests.count("POST /settlements/cancel") == 2
    card.refresh_from_db()
    assert card.balance == Decimal("1000.00")
    assert sorted(unpaid_numbers(patient_client))[:2] == ["RX1", "RX2"]
    again = staff_client(finance).post(
        f"/api/v1/{CODE}/staff/outpatientpayments/{outpatient.pk}/refund/", {"reason": "再退一次"}, format="json"
    )
    assert again.status_code == 409

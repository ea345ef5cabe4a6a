"""Outpatient payment against the fake HIS over HTTP: lists, single and merged payments with
each method, merge rules, insurance, expiry, and privacy between patients."""

from datetime import timedelta
from decimal import Decimal

import pytest
import responses
from django.utils import timezone

from hcm.hospitals.config import parse_config
from hcm.hospitals.services import hospital_config_update
from hcm.outpatient.models import OutpatientPayment, Prescription
from hcm.payments.models import Payment
from hcm.wallet.models import LedgerEntry
from tests.conftest import staff_client
from tests.outpatient.conftest import CODE, client_for, config, outpatient_yaml, record
from tests.payments import wechat_fake

pytestmark = pytest.mark.django_db(transaction=True)

API = f"/api/v1/{CODE}/patient/outpatient/"
NOTIFY = f"/api/v1/{CODE}/payments/wechat/payment-notify/"


def pay(client, numbers: list[str], method: str = "balance", **extra):
    body = {"numbers": numbers, "method": method}
    if method == "balance":
        body["password"] = "246810"
    return client.post(API + "pay/", {**body, **extra}, format="json")


def unpaid_numbers(client) -> list[str]:
    return [bill["number"] for bill in client.get(API + "unpaid/").json()["bills"]]


def reconfigure(hospital, fake_his, **outpatient: str) -> None:
    text = f"code: {CODE}\nname: 门诊医院\nfeatures: [outpatient, appointments]\n"
    text += config(fake_his.base_url, outpatient_yaml(**outpatient))
    hospital_config_update(hospital=hospital, config=parse_config(text), author=None)


def test_the_unpaid_list_comes_from_the_his_with_pay_by_times(patient_client, hospital):
    response = patient_client.get(API + "unpaid/")

    assert response.status_code == 200, response.json()
    bills = {bill["number"]: bill for bill in response.json()["bills"]}
    assert set(bills) == {"RX1", "RX2", "RX3", "RX4", "RX5", "RX6"}
    rx1 = bills["RX1"]
    assert (rx1["kind"], rx1["kind_label"], rx1["department"], rx1["amount"]) == (
        "western_medicine",
        "西药",
        "内科",
        "100.00",
    )
    assert rx1["items"] == [
        {
            "name": "阿莫西林胶囊 0.25g×24粒",
            "quantity": "2.000",
            "unit": "盒",
            "unit_price": "50.00",
            "amount": "100.00",
        }
    ]
    issued = timezone.datetime.fromisoformat(rx1["created_at"])
    assert timezone.datetime.fromisoformat(rx1["pay_by"]) - issued == timedelta(hours=24)
    assert (rx1["expired"], bills["RX6"]["expired"]) == (False, True)
    assert (bills["RX4"]["pay_later"], bills["RX4"]["pay_by"], bills["RX4"]["expired"]) == (True, None, False)
    assert response.json()["merge"] == {
        "enabled": True,
        "max_prescriptions": 3,
        "same_department_only": False,
        "same_kind_only": False,
    }
    assert Prescription.objects.filter(hospital=hospital, paid=False).count() == 6  # our copy, for reminders


def test_one_prescription_paid_by_balance_splits_insurance_and_settles(patient_client, card, fake_his):
    paid = pay(patient_client, ["RX1"])

    assert paid.status_code == 200, paid.json()
    outpatient = paid.json()["outpatient_payment"]
    assert (
        outpatient["state"],
        outpatient["amount"],
        outpatient["insurance_amount"],
        outpatient["self_pay_amount"],
    ) == (
        "settled",
        "100.00",
        "70.00",
        "30.00",
    )
    assert paid.json()["payment"]["method"] == "balance" and paid.json()["payment"]["amount"] == "30.00"
    card.refresh_from_db()
    assert card.balance == Decimal("970.00")
    assert LedgerEntry.objects.get(kind="purchase").amount == Decimal("-30.00")
    line = outpatient["prescriptions"][0]
    assert (line["number"], line["state"], line["insurance_amount"], line["self_pay_amount"]) == (
        "RX1",
        "settled",
        "70.00",
        "30.00",
    )
    assert line["receipt_number"]
    assert "RX1" not in unpaid_numbers(patient_client)
    history = patient_client.get(API + "paid/").json()
    assert [(r["number"], r["insurance_amount"], r["self_pay_amount"]) for r in history] == [("RX1", "70.00", "30.00")]
    assert history[0]["receipt_number"] == line["receipt_number"]


@responses.activate
def test_three_prescriptions_merged_and_paid_by_wechat(patient_client, api, fake_his):
    responses.add_passthru(fake_his.base_url)  # the HIS is real HTTP; only WeChat is stubbed
    wechat_fake.stub_unified_order()

    started = pay(patient_client, ["RX1", "RX2", "RX3"], method="wechat")

    assert started.status_code == 200, started.json()
    assert started.json()["outpatient_payment"]["state"] == "charging"
    assert started.json()["wechat"]["package"].startswith("prepay_id=")
    payment = Payment.objects.get()
    assert payment.amount == Decimal("30.00") + Decimal("15.00") + Decimal("130.00")  # the self-pay shares
    body = wechat_fake.payment_notification(out_trade_no=payment.out_trade_no, total_fee=17500)
    for _ in range(2):  # WeChat repeats itself; we settle once
        assert b"SUCCESS" in api.post(NOTIFY, body, content_type="text/xml").content

    outpatient = OutpatientPayment.objects.get()
    assert outpatient.state == "settled"
    assert sorted(outpatient.lines.values_list("number", "state")) == [
        ("RX1", "settled"),
        ("RX2", "settled"),
        ("RX3", "settled"),
    ]
    assert fake_his.requests.count("POST /settlements") == 3
    history = patient_client.get(API + "paid/").json()
    assert sorted(r["number"] for r in history) == ["RX1", "RX2", "RX3"]  # one record per prescription


def test_pay_at_the_counter_settles_when_the_cashier_confirms(patient_client, cashier):
    placed = pay(patient_client, ["RX1"], method="at_hospital")

    assert placed.status_code == 200, placed.json()
    outpatient = placed.json()["outpatient_payment"]
    assert (outpatient["state"], outpatient["payment_method"]) == ("charging", "at_hospital")
    confirmed = staff_client(cashier).post(
        f"/api/v1/{CODE}/staff/outpatientpayments/{outpatient['id']}/confirm_payment/", {"note": "现金"}, format="json"
    )

    assert confirmed.status_code == 200, confirmed.json()
    assert OutpatientPayment.objects.get().state == "settled"
    assert Payment.objects.get().collected_by == cashier


def test_merge_rules_are_enforced(patient_client, card, hospital, fake_his):
    too_many = pay(patient_client, ["RX1", "RX2", "RX3", "RX4"])
    his_says_no = pay(patient_client, ["RX1", "RX5"])

    assert (too_many.status_code, too_many.json()["code"]) == (409, "merge_too_many")
    assert (his_says_no.status_code, his_says_no.json()["code"]) == (409, "merge_not_allowed_by_his")
    assert "RX5" in his_says_no.json()["message"]

    reconfigure(hospital, fake_his, merge="{enabled: true, max_prescriptions: 3, same_department_only: true}")
    mixed = pay(patient_client, ["RX1", "RX2"])
    assert (mixed.status_code, mixed.json()["code"]) == (409, "merge_mixed_departments")

    reconfigure(hospital, fake_his, merge="{enabled: false}")
    disabled = pay(patient_client, ["RX1", "RX2"])
    assert (disabled.status_code, disabled.json()["code"]) == (409, "merge_disabled")

    card.refresh_from_db()
    assert card.balance == Decimal("1000.00") and not Payment.objects.exists()
    assert not [r for r in fake_his.requests if r.startswith("POST /settlements")]


def test_an_expired_prescription_is_shown_but_refused(patient_client, card):
    refused = pay(patient_client, ["RX6"])

    assert refused.status_code == 409
    assert refused.json()["code"] == "prescription_expired" and "RX6" in refused.json()["message"]
    card.refresh_from_db()
    assert card.balance == Decimal("1000.00") and not OutpatientPayment.objects.exists()


def test_without_insurance_everything_is_self_pay(patient_client, card, hospital, fake_his):
    reconfigure(hospital, fake_his, insurance="{enabled: false}")

    paid = pay(patient_client, ["RX1"]).json()["outpatient_payment"]

    assert (paid["insurance"], paid["insurance_amount"], paid["self_pay_amount"]) == (False, "0.00", "100.00")
    card.refresh_from_db()
    assert card.balance == Decimal("900.00")


def test_a_patient_never_sees_or_pays_another_patients_bills(hospital, card, patient_client):
    other_patient = record(hospital, card="M2", name="林雅琴", phone="13900001342")
    from hcm.patients.models import Binding, WechatAccount

    other = WechatAccount.objects.create(hospital=hospital, openid="oOther0001", current_patient=other_patient)
    Binding.objects.create(hospital=hospital, account=other, patient=other_patient)
    other_client = client_for(other)

    assert unpaid_numbers(other_client) == ["RX21"]
    refused = pay(other_client, ["RX1"], method="wechat")
    assert (refused.status_code, refused.json()["code"]) == (409, "prescription_not_unpaid")
    pay(patient_client, ["RX1"])
    assert other_client.get(f"/api/v1/{CODE}/patient/outpatientpayments/").json()["results"] == []
    assert len(patient_client.get(f"/api/v1/{CODE}/patient/outpatientpayments/").json()["results"]) == 1


def test_an_unbound_account_is_asked_to_bind(stranger):
    response = client_for(stranger).get(API + "unpaid/")

    assert response.status_code == 409 and response.json()["code"] == "binding_required"


def test_a_wrong_password_charges_nothing_and_leaves_the_bill_unpaid(patient_client, card):
    refused = pay(patient_client, ["RX1"], password="000000")

    assert refused.status_code == 400 and refused.json()["code"] == "wrong_password"
    assert OutpatientPayment.objects.get().state == "failed"
    assert "RX1" in unpaid_numbers(patient_client)
    assert pay(patient_client, ["RX1"]).status_code == 200


@responses.activate
@pytest.mark.parametrize("method", ["balance", "at_hospital", "wechat"])
@pytest.mark.parametrize("numbers", [["RX3"], ["RX1", "RX2"]], ids=["single", "merged"])
def test_single_and_merged_payment_with_each_method(method, numbers, patient_client, card, cashier, api, fake_his):
    responses.add_passthru(fake_his.base_url)
    wechat_fake.stub_unified_order()

    started = pay(patient_client, numbers, method=method)
    assert started.status_code == 200, started.json()
    outpatient = OutpatientPayment.objects.get()
    if method == "at_hospital":
        staff_client(cashier).post(
            f"/api/v1/{CODE}/staff/outpatientpayments/{outpatient.pk}/confirm_payment/", {"note": "现金"}, format="json"
        )
    elif method == "wechat":
        payment = Payment.objects.get()
        fen = int(payment.amount * 100)
        notification = wechat_fake.payment_notification(out_trade_no=payment.out_trade_no, total_fee=fen)
        api.post(NOTIFY, notification, content_type="text/xml")

    outpatient.refresh_from_db()
    assert (outpatient.state, outpatient.payment_method) == ("settled", method)
    assert sorted(outpatient.lines.values_list("number", "state")) == [(n, "settled") for n in sorted(numbers)]
    assert fake_his.requests.count("POST /settlements") == len(numbers)
    assert not set(numbers) & set(unpaid_numbers(patient_client))


def test_reading_an_unchanged_list_again_writes_nothing(patient_client, hospital):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    patient_client.get(API + "unpaid/")
    with CaptureQueriesContext(connection) as queries:
        assert patient_client.get(API + "unpaid/").status_code == 200

    writes = [q["sql"] for q in queries if "outpatient_prescription" in q["sql"] and not q["sql"].startswith("SELECT")]
    assert writes == []
    assert Prescription.objects.filter(hospital=hospital, paid=False).count() == 6

"""Paying by the code printed on a prescription without binding; pay-later reminders once per
day; and the "may this person book?" answer for the appointments app."""

from datetime import timedelta

import pytest
import responses
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hcm.notifications.models import Notification
from hcm.outpatient import services, tasks
from hcm.outpatient.models import OutpatientPayment, Prescription
from hcm.payments.models import Payment
from tests.outpatient.conftest import CODE, client_for, record
from tests.outpatient.test_paying import API, NOTIFY, reconfigure
from tests.payments import wechat_fake

pytestmark = pytest.mark.django_db(transaction=True)


def lookup(client, **body):
    return client.post(API + "by-code/", body, format="json")


def test_a_printed_code_and_the_name_find_the_bill_and_reveal_nothing_else(stranger):
    client = client_for(stranger)

    found = lookup(client, pay_code="88RX21", name="林雅琴")

    assert found.status_code == 200, found.json()
    assert found.json()["patient_name"] == "林**"
    assert found.json()["bill"]["number"] == "RX21" and found.json()["bill"]["amount"] == "15.50"
    assert set(found.json()) == {"bill", "patient_name"}
    assert lookup(client, pay_code="88RX21", phone_tail="1342").status_code == 200


def test_a_wrong_code_or_second_factor_gets_the_same_answer(stranger):
    client = client_for(stranger)
    answers = [
        lookup(client, pay_code="88RX21", name="尤小明"),
        lookup(client, pay_code="88RX21", phone_tail="9999"),
        lookup(client, pay_code="88NOPE", name="林雅琴"),
    ]

    assert {(a.status_code, a.json()["code"], a.json()["message"]) for a in answers} == {
        (404, "bill_not_found", "没有与该编码和信息相符的待缴费处方。")
    }
    missing = lookup(client, pay_code="88RX21")
    assert missing.status_code == 400 and "name" in missing.json()["fields"]


@responses.activate
def test_paying_by_code_without_binding(stranger, api, fake_his):
    responses.add_passthru(fake_his.base_url)
    wechat_fake.stub_unified_order()
    client = client_for(stranger)

    started = client.post(
        API + "by-code/pay/", {"pay_code": "88RX21", "name": "林雅琴", "method": "wechat"}, format="json"
    )

    assert started.status_code == 200, started.json()
    assert started.json()["outpatient_payment"]["patient_name"] == "林**"
    payment = Payment.objects.get()
    assert payment.amount.to_eng_string() == "15.50"  # not insured: all self-pay
    body = wechat_fake.payment_notification(out_trade_no=payment.out_trade_no, total_fee=1550)
    assert b"SUCCESS" in api.post(NOTIFY, body, content_type="text/xml").content
    outpatient = OutpatientPayment.objects.get()
    assert (outpatient.state, outpatient.patient, outpatient.account) == ("settled", None, stranger)


def test_paying_by_code_is_refused_where_the_hospital_does_not_allow_it(stranger, hospital, fake_his):
    reconfigure(hospital, fake_his, scan_to_pay_without_binding="false")

    refused = lookup(client_for(stranger), pay_code="88RX21", name="林雅琴")

    assert refused.status_code == 403 and refused.json()["code"] == "pay_by_code_off"


def test_pay_later_reminders_go_once_per_bill_and_account_per_day(hospital, account, patient_client):
    assert tasks.send_pay_later_reminders(CODE) == 1  # RX4, issued two days ago
    assert tasks.send_pay_later_reminders(CODE) == 0  # the same day again

    reminder = Notification.objects.get(event="pay_later_reminder")
    assert (reminder.account, reminder.template_id, reminder.data["prescription"], reminder.state) == (
        account,
        "TPL-REMIND",
        "RX4",
        "pending",
    )
    Notification.objects.update(created_at=timezone.now() - timedelta(days=1))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timezone, "localdate", lambda *a: timezone.now().date() + timedelta(days=1))
        assert tasks.send_pay_later_reminders(CODE) == 1  # the next day


def test_reminders_are_set_based(hospital, fake_his, account):
    Prescription.objects.bulk_create(
        Prescription(
            hospital=hospital,
            number=f"OLD{i}",
            his_patient_id="H0001",
            medical_card_number="M1",
            kind="treatment",
            department="外科",
            amount="10.00",
            issued_at=timezone.now() - timedelta(days=3),
            pay_later=True,
        )
        for i in range(200)
    )
    fake_his.control(error_rate=1.0)  # remind from our copy when the HIS is down

    with CaptureQueriesContext(connection) as queries:
        sent = tasks.send_pay_later_reminders(CODE)

    assert sent == 200
    assert len(queries) < 15


def test_may_book_answers_for_pay_later_bills(hospital, patient, patient_client, fake_his):
    assert services.may_book(patient=patient) is None  # nothing known yet
    patient_client.get(API + "unpaid/")  # our copy learns of RX4 (pay later, two days old)

    block = services.may_book(patient=patient)

    assert block.code == "unpaid_pay_later_bills" and "RX4" in block.message
    other = record(hospital, card="M2", name="林雅琴", phone="13900001342")
    assert services.may_book(patient=other) is None
    reconfigure(
        hospital, fake_his, pay_later='{enabled: true, remind_at: "0 9 * * *", block_booking_while_unpaid: false}'
    )
    patient.refresh_from_db()
    assert services.may_book(patient=patient) is None


def test_each_hospital_with_pay_later_gets_its_named_reminder_schedule(hospital, fake_his):
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name=f"outpatient.pay_later_reminders.{CODE}")
    assert (schedule.cron, schedule.args, schedule.func) == (
        "0 9 * * *",
        "('clinic',)",
        "hcm.outpatient.tasks.send_pay_later_reminders",
    )
    reconfigure(hospital, fake_his, pay_later='{enabled: false, remind_at: "0 9 * * *"}')
    assert not Schedule.objects.filter(name=f"outpatient.pay_later_reminders.{CODE}").exists()

"""The outbox: written in the business transaction, sent after commit, retried with backoff."""

from datetime import timedelta

import pytest
from django.db import transaction

from hcm.hospitals.roles import Role
from hcm.lowcode.models import AuditEntry
from hcm.notifications import backends, services
from hcm.notifications.models import Notification
from hcm.notifications.services import notification_resend, notification_send, notify
from hcm.notifications.tasks import send_due
from hcm.patients.models import PatientRecord, WechatAccount
from tests.conftest import make_operator

PAID = {"order": "M20260105001", "amount": "12.34 元"}
URL = "https://h5.example.com/hospa/orders/1"


def notify_paid(hospital, account, **kwargs) -> Notification | None:
    return notify(hospital=hospital, account=account, event="order_paid", data=PAID, url=URL, **kwargs)


def sent(outbox) -> list[tuple]:
    return [(n.openid, n.template_id, n.data, n.url) for n in outbox]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_business_transaction_leaves_no_notification_and_sends_nothing(hospital, account, outbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        PatientRecord.objects.create(hospital=hospital, medical_card_number="M0001", name="尤小明")
        notify_paid(hospital, account)
        raise RuntimeError("the payment failed")

    assert Notification.objects.count() == 0
    assert PatientRecord.objects.count() == 0
    assert outbox == []


@pytest.mark.django_db(transaction=True)
def test_a_committed_notification_is_sent_by_the_queued_task(hospital, account, outbox):
    with transaction.atomic():
        notification = notify_paid(hospital, account)
        assert outbox == []  # nothing leaves before the commit

    notification.refresh_from_db()
    assert sent(outbox) == [("oPatient01", "TPL-PAID", PAID, URL)]
    assert (notification.state, notification.attempts, notification.next_attempt_at, notification.last_error) == (
        "sent",
        1,
        None,
        "",
    )
    assert notification.sent_at is not None


def test_notify_writes_the_row_and_queues_one_send_after_commit(
    hospital, account, clock, outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        notification = notify_paid(hospital, account)

    assert len(callbacks) == 1
    notification.refresh_from_db()
    assert notification.hospital == hospital and notification.account == account
    assert (notification.openid, notification.event, notification.template_id) == (
        "oPatient01",
        "order_paid",
        "TPL-PAID",
    )
    assert (notification.data, notification.url) == (PAID, URL)
    assert (notification.state, notification.attempts, notification.sent_at) == ("sent", 1, clock.now)
    assert sent(outbox) == [("oPatient01", "TPL-PAID", PAID, URL)]


def test_an_event_without_a_template_is_skipped_and_nothing_is_queued(
    hospital, account, outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notification = notify(hospital=hospital, account=account, event="report_ready", data={"report": "R1"})

    assert callbacks == []
    notification.refresh_from_db()
    assert (notification.state, notification.template_id, notification.attempts) == ("skipped", "", 0)
    assert notification.last_error == "No WeChat template is configured for this event."
    assert outbox == []


def test_a_notification_without_an_account_is_skipped(hospital, outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notification = notify_paid(hospital, None)

    assert callbacks == [] and outbox == []
    assert (notification.state, notification.openid) == ("skipped", "")
    assert notification.last_error == "There is no WeChat account to send to."


def test_a_dedupe_key_sends_once_per_hospital(
    hospital, other_hospital, account, outbox, django_capture_on_commit_callbacks
):
    theirs = WechatAccount.objects.create(hospital=other_hospital, openid="oPatient02")
    with django_capture_on_commit_callbacks(execute=True):
        first = notify_paid(hospital, account, dedupe_key="bill-7:2026-01-05")
        again = notify_paid(hospital, account, dedupe_key="bill-7:2026-01-05")
        elsewhere = notify_paid(other_hospital, theirs, dedupe_key="bill-7:2026-01-05")

    assert first is not None and again is None and elsewhere is not None
    assert Notification.objects.filter(dedupe_key="bill-7:2026-01-05").count() == 2
    assert [n.openid for n in outbox] == ["oPatient01", "oPatient02"]


def test_a_concurrent_duplicate_leaves_the_callers_transaction_usable(
    hospital, account, outbox, monkeypatch, django_capture_on_commit_callbacks
):
    notify_paid(hospital, account, dedupe_key="report-9")
    # As if another caller inserted the same key between the check and the insert.
    monkeypatch.setattr(services, "_dedupe_key_used", lambda **kwargs: False)

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        assert notify_paid(hospital, account, dedupe_key="report-9") is None
        record = PatientRecord.objects.create(hospital=hospital, medical_card_number="M0009", name="尤小明")

    assert PatientRecord.objects.filter(pk=record.pk).exists()
    assert Notification.objects.filter(dedupe_key="report-9").count() == 1


def test_a_failed_send_is_recorded_and_the_business_row_stays(
    hospital, account, clock, outbox, django_capture_on_commit_callbacks
):
    backends.fail_next(error="WeChat is down")

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        record = PatientRecord.objects.create(hospital=hospital, medical_card_number="M0001", name="尤小明")
        notification = notify_paid(hospital, account)

    notification.refresh_from_db()
    assert (notification.state, notification.attempts, notification.sent_at) == ("failed", 1, None)
    assert notification.last_error == "SendFailed: WeChat is down"
    assert notification.next_attempt_at == clock.now + timedelta(minutes=1)
    assert PatientRecord.objects.filter(pk=record.pk, name="尤小明").exists()
    assert outbox == []


def test_a_failed_notification_is_sent_by_the_sweep_once_its_backoff_has_passed(
    hospital, account, clock, outbox, django_capture_on_commit_callbacks
):
    backends.fail_next()
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify_paid(hospital, account)

    clock.advance(seconds=59)
    assert send_due() == 0
    clock.advance(seconds=1)
    assert send_due() == 1

    notification.refresh_from_db()
    assert (notification.state, notification.attempts, notification.sent_at) == ("sent", 2, clock.now)
    assert notification.next_attempt_at is None
    assert sent(outbox) == [("oPatient01", "TPL-PAID", PAID, URL)]


def test_sending_gives_up_after_five_attempts(hospital, account, clock, outbox, django_capture_on_commit_callbacks):
    backends.fail_next(5)
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify_paid(hospital, account)
    waits = []
    for _retry in range(4):
        notification.refresh_from_db()
        waits.append(notification.next_attempt_at - clock.now)
        clock.now = notification.next_attempt_at
        assert send_due() == 1

    notification.refresh_from_db()
    assert waits == [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2)]
    assert (notification.state, notification.attempts, notification.next_attempt_at) == ("failed", 5, None)
    clock.advance(days=1)
    assert send_due() == 0
    assert outbox == []


def test_a_row_that_is_not_due_is_not_sent_again(hospital, account, outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify_paid(hospital, account)

    notification_send(notification=notification)
    backends.fail_next()
    with django_capture_on_commit_callbacks(execute=True):
        failed = notify_paid(hospital, account)
    notification_send(notification=failed)  # waiting for its retry time

    assert len(outbox) == 1
    failed.refresh_from_db()
    assert (failed.state, failed.attempts) == ("failed", 1)


def test_the_sweep_sends_a_pending_row_whose_task_was_lost(
    hospital, account, clock, outbox, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unavailable")

    with monkeypatch.context() as patch:
        patch.setattr(services, "async_task", broker_down)
        with django_capture_on_commit_callbacks(execute=True):  # the failure is logged, not raised
            notification = notify_paid(hospital, account)
    assert outbox == []

    clock.advance(minutes=1)
    assert send_due() == 0  # its task may still be on the way
    clock.advance(minutes=1)
    assert send_due() == 1
    notification.refresh_from_db()
    assert notification.state == "sent" and len(outbox) == 1


def test_resend_gives_a_failed_notification_a_new_round_and_is_audited(
    hospital, account, outbox, django_capture_on_commit_callbacks
):
    operator = make_operator("service_a", hospital=hospital, role=Role.CUSTOMER_SERVICE)
    backends.fail_next(error="WeChat is down")
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify_paid(hospital, account)

    with django_capture_on_commit_callbacks(execute=True):
        assert notification_resend(notification=notification, actor=operator) is True

    notification.refresh_from_db()
    assert (notification.state, notification.attempts) == ("sent", 1)
    entry = AuditEntry.objects.get(object_id=str(notification.pk))
    assert (entry.action, entry.actor, entry.hospital) == ("override", operator, hospital)
    assert entry.detail == {"operation": "resend", "attempts": "1", "last_error": "SendFailed: WeChat is down"}
    assert notification_resend(notification=notification, actor=operator) is False  # sent: nothing to resend


def test_unknown_events_and_other_hospitals_accounts_are_programming_errors(hospital, other_hospital):
    theirs = WechatAccount.objects.create(hospital=other_hospital, openid="oPatient02")
    with pytest.raises(ValueError, match="Unknown notification event"):
        notify(hospital=hospital, account=None, event="order_shipped", data={})
    with pytest.raises(ValueError, match="another hospital"):
        notify(hospital=hospital, account=theirs, event="order_paid", data={})
    assert Notification.objects.count() == 0

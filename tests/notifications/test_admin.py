"""The read-only notification admin and its "resend" action, confined to the operator's hospital."""

import pytest
from django.test import Client

from hcm.lowcode.models import AuditEntry
from hcm.notifications import backends
from hcm.notifications.services import notify
from hcm.patients.models import WechatAccount
from tests.conftest import make_operator

CHANGELIST = "/admin/notifications/notification/"


@pytest.fixture
def operator(hospital):
    client = Client()
    client.force_login(make_operator("admin_hospa", hospital=hospital))
    return client


def failed_notification(hospital, account, capture):
    backends.fail_next()
    with capture(execute=True):
        notification = notify(hospital=hospital, account=account, event="refund", data={"amount": "12.34 元"})
    notification.refresh_from_db()
    assert notification.state == "failed"
    return notification


def resend(client, *pks):
    data = {"action": "resend", "_selected_action": list(pks), "index": "0"}
    return client.post(CHANGELIST, data, follow=True, HTTP_ACCEPT_LANGUAGE="en")


def test_a_hospital_admin_resends_a_failed_notification_of_their_hospital(
    hospital, account, operator, outbox, django_capture_on_commit_callbacks
):
    notification = failed_notification(hospital, account, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        response = resend(operator, notification.pk)

    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == ["1 notification will be sent again."]
    notification.refresh_from_db()
    assert (notification.state, notification.attempts) == ("sent", 1)
    assert [n.pk for n in outbox] == [notification.pk]
    assert AuditEntry.objects.filter(object_id=str(notification.pk), actor__username="admin_hospa").count() == 1


def test_resend_cannot_reach_another_hospitals_notification(
    hospital, other_hospital, operator, outbox, django_capture_on_commit_callbacks
):
    theirs = WechatAccount.objects.create(hospital=other_hospital, openid="oPatient02")
    notification = failed_notification(other_hospital, theirs, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        resend(operator, notification.pk)

    notification.refresh_from_db()
    assert (notification.state, notification.attempts) == ("failed", 1)
    assert outbox == []
    assert not AuditEntry.objects.filter(object_id=str(notification.pk)).exists()


def test_only_failed_notifications_are_resent(hospital, account, operator, outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify(hospital=hospital, account=account, event="refund", data={"amount": "12.34 元"})

    with django_capture_on_commit_callbacks(execute=True):
        response = resend(operator, notification.pk)

    assert [str(m) for m in response.context["messages"]] == [
        "1 notification was not resent: only failed notifications can be."
    ]
    assert len(outbox) == 1

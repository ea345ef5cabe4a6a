"""The HIS's signed push of new reports: a good signature stores and announces, a bad one is
refused with 403 and writes nothing, the same push twice changes nothing, no sign-in or CSRF."""

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from hcm.his.contract import adapter_for
from hcm.his.wire_reports import new_reports_to_wire
from hcm.notifications.models import Notification
from hcm.reports import services
from hcm.reports.models import CheckupReport, ExamResult
from tests.conftest import make_hospital
from tests.reports.conftest import CODE, PUSH, PUSH_SECRET, config, now_stamp, push, signed

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def body(hospital):
    """What the HIS pushes: its reports of the last three days, in the shape of its GET /reports answer."""
    return new_reports_to_wire(adapter_for(hospital).reports_since(since=timezone.now() - timedelta(days=3)))


@pytest.fixture
def client():
    return Client(enforce_csrf_checks=True)  # the push carries no CSRF token, and needs none


def nothing_written() -> bool:
    return not (CheckupReport.objects.exists() or ExamResult.objects.exists() or Notification.objects.exists())


def test_a_signed_push_stores_the_reports_and_announces_them(client, body, account, neighbour):
    answer = push(client, body)

    assert answer.status_code == 200, answer.json()
    assert answer.json() == {"stored": 5, "new": 5, "skipped": 1}
    assert sorted(CheckupReport.objects.values_list("number", flat=True)) == ["TJ1", "TJ21"]
    assert sorted(ExamResult.objects.values_list("number", flat=True)) == ["JY1", "JY2", "JY21"]
    assert Notification.objects.filter(event="report_ready", account=neighbour).count() == 2


@pytest.mark.parametrize(
    "signature",
    [
        "sha256=" + "0" * 64,
        "",  # no header at all
        "sha256=not-hex-at-all-尤",
        "md5=whatever",
    ],
)
def test_a_push_without_the_right_signature_is_refused_and_writes_nothing(client, body, account, signature):
    answer = push(client, body, signature=signature)

    assert answer.status_code == 403
    assert (answer.json()["code"], answer.json()["fields"]) == ("bad_signature", {})
    assert nothing_written()


def test_a_push_signed_with_another_secret_is_refused(client, body, account):
    answer = push(client, body, secret="another-hospitals-secret")

    assert (answer.status_code, answer.json()["code"]) == (403, "bad_signature")
    assert nothing_written()


def test_a_changed_body_breaks_the_signature(client, body, account):
    _raw, signature = signed(body)
    body["exam_results"][0]["items"][0]["value"] = "3.1"

    answer = push(client, body, signature=signature)

    assert answer.status_code == 403 and nothing_written()


def test_the_same_push_twice_stores_the_same_rows_and_announces_nothing_new(client, body, account):
    push(client, body)
    sent = Notification.objects.count()

    again = push(client, body)

    assert again.status_code == 200 and again.json() == {"stored": 5, "new": 0, "skipped": 1}
    assert Notification.objects.count() == sent == 5
    assert CheckupReport.objects.count() == 2


def test_a_push_after_the_sync_announces_nothing_again(client, body, hospital, account):
    services.reports_sync(hospital=hospital)
    sent = Notification.objects.count()

    answer = push(client, body)

    assert answer.json()["new"] == 0
    assert Notification.objects.count() == sent == 5


def test_a_signed_body_that_is_not_the_protocol_is_a_400_and_writes_nothing(client, account):
    for raw in (b"not json", json.dumps({"checkup_reports": [{"report_number": "X"}], "exam_results": []}).encode()):
        answer = push(client, raw)

        assert answer.status_code == 400
        assert answer.json()["code"] == "invalid" and "body" in answer.json()["fields"]
    assert nothing_written()


def test_a_hospital_without_a_push_secret_refuses_pushes(client, body, hospital, fake_his, monkeypatch):
    monkeypatch.delenv("RPT_HIS_PUSH_SECRET")

    answer = push(client, body)

    assert (answer.status_code, answer.json()["code"]) == (403, "his_push_not_configured")
    assert nothing_written()


def test_pushes_to_a_hospital_with_reports_off_or_unknown_answer_404(client, body, hospital, fake_his):
    make_hospital(CODE, features="[site]", extra=config(fake_his.base_url))

    assert push(client, body).status_code == 404
    assert client.post("/api/v1/nowhere/reports/his-push/", b"{}", content_type="application/json").status_code == 404
    assert nothing_written()


def test_only_post_is_accepted(client, hospital):
    assert client.get(PUSH).status_code == 405


def test_a_push_larger_than_the_request_limit_is_a_413_and_writes_nothing(client, body, account, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100

    answer = push(client, body)

    assert (answer.status_code, answer.json()["code"]) == (413, "too_large")
    assert nothing_written()


def test_an_old_push_replayed_is_refused(client, body, account):
    an_hour_ago = str(int(time.time()) - 3600)

    answer = push(client, body, timestamp=an_hour_ago)

    assert (answer.status_code, answer.json()["code"]) == (403, "stale_push")
    assert nothing_written()


def test_a_signature_of_the_body_alone_is_refused(client, body, account):
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    body_only = "sha256=" + hmac.new(PUSH_SECRET.encode(), raw, hashlib.sha256).hexdigest()

    answer = client.post(
        PUSH, raw, content_type="application/json", HTTP_X_HIS_SIGNATURE=body_only, HTTP_X_HIS_TIMESTAMP=now_stamp()
    )

    assert (answer.status_code, answer.json()["code"]) == (403, "bad_signature")
    assert nothing_written()

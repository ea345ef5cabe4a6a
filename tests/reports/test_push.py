"""The HIS's signed push of new reports: a good signature stores and announces, a bad one is
refused with 403 and writes nothing, the same push twice changes nothing, no sign-in or CSRF."""

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from hcm.his.contract import adapter_for
from hcm.his.wire_reports import new_reports_to_wire
from hcm.notifications.models import Notification
from hcm.reports import services
from hcm.reports.models import CheckupReport, ExamResult
from tests.conftest import make_hospital
from tests.reports.conftest import CODE, PUSH, PUSH_SECRET, checkup, config, now_stamp, push, signed

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
    assert answer.json() == {"stored": 5, "new": 5, "skipped": 1, "outdated": 0}
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

    again = push(client, body, timestamp=str(int(time.time()) + 1))  # sent again: signed anew

    assert again.status_code == 200 and again.json() == {"stored": 5, "new": 0, "skipped": 1, "outdated": 0}
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


def corrected(hospital, fake_his) -> dict:
    """The HIS corrects TJ1 (a new version, changed now) and pushes what changed since a minute ago."""
    fake_his.revise_reports(
        hospital=CODE, his_patient_id="H0001", checkup_reports=[{**checkup("TJ1"), "summary": "复核：轻度脂肪肝。"}]
    )
    return new_reports_to_wire(adapter_for(hospital).reports_since(since=timezone.now() - timedelta(minutes=1)))


def test_a_replayed_push_is_refused_and_cannot_put_back_an_earlier_version(client, body, hospital, fake_his, account):
    first_stamp = now_stamp()
    raw, first_signature = signed(body, timestamp=first_stamp)
    assert push(client, body, timestamp=first_stamp).status_code == 200
    v2 = corrected(hospital, fake_his)
    assert push(client, v2, timestamp=str(int(first_stamp) + 1)).json()["stored"] == 1
    sent = Notification.objects.count()

    replay = client.post(  # the first push again, byte for byte, inside its 5 minutes
        PUSH,
        raw,
        content_type="application/json",
        HTTP_X_HIS_SIGNATURE=first_signature,
        HTTP_X_HIS_TIMESTAMP=first_stamp,
    )

    assert replay.status_code == 409
    assert replay.json() == {
        "code": "replayed_push",
        "message": "这次推送已经收到；如需重发，请用新的时间戳重新签名。",
        "fields": {},
    }
    report = CheckupReport.objects.get(number="TJ1")
    assert report.summary == "复核：轻度脂肪肝。" and report.his_updated_at == parse_datetime(
        v2["checkup_reports"][0]["updated_at"]
    )
    assert Notification.objects.count() == sent


def test_an_older_version_signed_anew_is_not_written(client, body, hospital, fake_his, account):
    push(client, corrected(hospital, fake_his) | {"exam_results": []})
    sent = Notification.objects.count()

    late = push(client, body, timestamp=str(int(time.time()) + 1))  # v1 arrives late, properly signed

    assert late.status_code == 200
    assert late.json() == {"stored": 4, "new": 4, "skipped": 1, "outdated": 1}  # TJ1 v1 is older than ours
    report = CheckupReport.objects.get(number="TJ1")
    assert (report.summary, report.conclusions) == ("复核：轻度脂肪肝。", ["轻度脂肪肝", "血脂异常"])
    assert report.his_updated_at > report.reported_at
    assert Notification.objects.filter(data__number="TJ1").count() == 1  # announced once
    assert Notification.objects.count() == sent + 4


def test_a_push_whose_store_failed_can_be_sent_again(client, body, account, monkeypatch):
    raw, signature = signed(body, timestamp=(stamp := now_stamp()))
    headers = {"HTTP_X_HIS_SIGNATURE": signature, "HTTP_X_HIS_TIMESTAMP": stamp}

    def refuse(**kwargs):
        raise services.ReportsRefused("busy", code="busy", status=409)

    with monkeypatch.context() as patched:
        patched.setattr(services, "reports_store", refuse)
        assert client.post(PUSH, raw, content_type="application/json", **headers).json()["code"] == "busy"

    again = client.post(PUSH, raw, content_type="application/json", **headers)

    assert again.status_code == 200 and again.json()["new"] == 5


def test_the_openapi_schema_documents_the_push_body_and_its_answers(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    operation = schema["paths"]["/api/v1/{hospital}/reports/his-push/"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    components = schema["components"]["schemas"]
    assert set(components[body]["properties"]) == {"checkup_reports", "exam_results"}
    checkup_ref = components[body]["properties"]["checkup_reports"]["items"]["$ref"].split("/")[-1]
    assert {"report_number", "medical_card_number", "reported_at", "updated_at"} <= set(
        components[checkup_ref]["properties"]
    )
    assert "updated_at" not in components[checkup_ref]["required"]
    assert set(operation["responses"]) >= {"200", "403", "409"}
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    assert set(components[answer]["properties"]) == {"stored", "new", "skipped", "outdated"}
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert headers == {"X-HIS-Signature", "X-HIS-Timestamp"}


REDIS_URL = "redis://127.0.0.1:6379/13"  # a database of its own; the keys this test makes are removed


@pytest.fixture
def redis_cache(settings):
    redis = pytest.importorskip("redis")
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    yield connection
    for key in connection.scan_iter(":1:hcm:his-push:*"):
        connection.delete(key)


def test_a_push_seen_by_one_process_is_refused_by_another_sharing_the_cache(
    client, body, hospital, account, redis_cache
):
    stamp = now_stamp()
    _raw, signature = signed(body, timestamp=stamp)
    assert push(client, body, timestamp=stamp).status_code == 200
    digest = signature.removeprefix("sha256=")
    remembered = f":1:hcm:his-push:{hospital.pk}:sha256={digest}"

    other_process = subprocess.run(  # another web process: the project's settings, the same Redis
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from types import SimpleNamespace; "
            "from hcm.reports.services import _remember_push; "
            f"print(_remember_push(hospital=SimpleNamespace(pk={hospital.pk}), signature={signature!r}, "
            f"timestamp={stamp!r}))",
        ],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "hcm.settings", "DEBUG": "1", "REDIS_URL": REDIS_URL},
        cwd=Path(__file__).resolve().parents[2] / "platform",
        capture_output=True,
        text=True,
    )

    assert other_process.returncode == 0, other_process.stderr
    assert other_process.stdout.strip().splitlines()[-1] == "None"  # already used: refused there too
    assert 0 < redis_cache.ttl(remembered) <= services.PUSH_MAX_AGE + 1  # forgotten once the push is stale anyway

"""Template messages through wechatpy, against WeChat's HTTP endpoints stubbed with `responses`."""

import json
from datetime import timedelta

import pytest
import requests
import responses
from responses.matchers import query_param_matcher

from hcm.notifications.services import notify
from hcm.patients.models import WechatAccount

TOKEN_URL = "https://api.weixin.qq.com/cgi-bin/token"
SEND_URL = "https://api.weixin.qq.com/cgi-bin/message/template/send"
PAID = {"order": "M20260105001", "amount": "12.34 元"}
URL = "https://h5.example.com/hospa/orders/1"


@pytest.fixture(autouse=True)
def wechat_backend(settings, monkeypatch):
    settings.HCM_NOTIFICATION_BACKEND = "wechat"
    monkeypatch.setenv("HOSPA_WECHAT_SECRET", "app-secret")
    monkeypatch.setenv("HOSPB_WECHAT_SECRET", "other-secret")


def wechat_issues_token(token: str, *, app_id: str = "wx0123456789abcdef", secret: str = "app-secret") -> None:
    responses.get(
        TOKEN_URL,
        match=[query_param_matcher({"grant_type": "client_credential", "appid": app_id, "secret": secret})],
        json={"access_token": token, "expires_in": 7200},
    )


def wechat_answers_send(token: str, answer: dict) -> None:
    responses.post(SEND_URL, match=[query_param_matcher({"access_token": token})], json=answer)


def notify_paid(hospital, account, capture):
    with capture(execute=True):
        notification = notify(hospital=hospital, account=account, event="order_paid", data=PAID, url=URL)
    notification.refresh_from_db()
    return notification


@responses.activate
def test_the_template_message_is_posted_to_wechat_with_a_timeout(hospital, account, django_capture_on_commit_callbacks):
    wechat_issues_token("TOKEN-A")
    wechat_answers_send("TOKEN-A", {"errcode": 0, "errmsg": "ok", "msgid": 200228332})

    notification = notify_paid(hospital, account, django_capture_on_commit_callbacks)

    assert [call.request.url.split("?")[0] for call in responses.calls] == [TOKEN_URL, SEND_URL]
    assert json.loads(responses.calls[1].request.body) == {
        "touser": "oPatient01",
        "template_id": "TPL-PAID",
        "url": URL,
        "data": {"order": {"value": "M20260105001"}, "amount": {"value": "12.34 元"}},
    }
    assert [call.request.req_kwargs["timeout"] for call in responses.calls] == [5, 5]
    assert (notification.state, notification.attempts, notification.last_error) == ("sent", 1, "")


@responses.activate
def test_the_access_token_is_reused_per_hospital_and_never_shared(
    hospital, other_hospital, account, django_capture_on_commit_callbacks
):
    theirs = WechatAccount.objects.create(hospital=other_hospital, openid="oPatient02")
    wechat_issues_token("TOKEN-A")
    wechat_issues_token("TOKEN-B", app_id="wx9999456789abcdef", secret="other-secret")
    wechat_answers_send("TOKEN-A", {"errcode": 0, "errmsg": "ok"})
    wechat_answers_send("TOKEN-B", {"errcode": 0, "errmsg": "ok"})

    notify_paid(hospital, account, django_capture_on_commit_callbacks)
    notify_paid(hospital, account, django_capture_on_commit_callbacks)
    notify_paid(other_hospital, theirs, django_capture_on_commit_callbacks)

    token_calls = [call.request.params["appid"] for call in responses.calls if call.request.url.startswith(TOKEN_URL)]
    sends = [
        (call.request.params["access_token"], json.loads(call.request.body)["touser"])
        for call in responses.calls
        if call.request.url.startswith(SEND_URL)
    ]
    assert token_calls == ["wx0123456789abcdef", "wx9999456789abcdef"]
    assert sends == [
        ("TOKEN-A", "oPatient01"),
        ("TOKEN-A", "oPatient01"),
        ("TOKEN-B", "oPatient02"),
    ]


@responses.activate
def test_an_errcode_answer_is_recorded_as_a_failure(hospital, account, clock, django_capture_on_commit_callbacks):
    wechat_issues_token("TOKEN-A")
    wechat_answers_send("TOKEN-A", {"errcode": 43004, "errmsg": "require subscribe rid: 6575e1a5"})

    notification = notify_paid(hospital, account, django_capture_on_commit_callbacks)

    assert (notification.state, notification.attempts, notification.sent_at) == ("failed", 1, None)
    assert (
        notification.last_error
        == "SendFailed: WeChat refused the message: errcode 43004, require subscribe rid: 6575e1a5"
    )
    assert notification.next_attempt_at == clock.now + timedelta(minutes=1)


@responses.activate
def test_a_network_failure_is_recorded_without_the_secret_or_the_token(
    hospital, account, django_capture_on_commit_callbacks
):
    responses.get(TOKEN_URL, body=requests.ConnectionError(f"{TOKEN_URL}?appid=wx0123456789abcdef&secret=app-secret"))

    notification = notify_paid(hospital, account, django_capture_on_commit_callbacks)

    assert notification.state == "failed"
    assert notification.last_error == "SendFailed: WeChat did not answer (ConnectionError)."


@responses.activate
def test_missing_wechat_configuration_is_a_failure_on_the_row(
    hospital, account, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.delenv("HOSPA_WECHAT_SECRET")

    notification = notify_paid(hospital, account, django_capture_on_commit_callbacks)

    assert len(responses.calls) == 0
    assert (notification.state, notification.attempts) == ("failed", 1)
    assert notification.last_error == "SendFailed: WeChat app id or secret is not configured for hospital hospa."

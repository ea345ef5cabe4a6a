"""Requests for SMS codes are limited per account and per client address (the texts sent are also
limited per phone and per address, see test_applications); every 429 says how long to wait."""

from datetime import timedelta

import pytest

from hcm.distribution import verification
from hcm.distribution.models import VerificationCode
from tests.distribution.conftest import API, client_for, make_account

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tight(settings):
    def set_rates(**rates: str):
        settings.HCM_RATES = {**settings.HCM_RATES, "sms_code": rates}

    return set_rates


def ask(client, phone: str, ip: str = "10.0.0.1"):
    return client.post(API + "sms-code/", {"phone": phone}, format="json", REMOTE_ADDR=ip)


def test_one_account_is_limited_whatever_the_phone_and_address(hospital, texts, tight):
    tight(account="3/hour", address="100/hour")
    me = client_for(make_account(hospital, "oApplicant1"))

    answers = [ask(me, f"1390000{n:04d}", ip=f"10.0.0.{n}") for n in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].json()["code"] == "throttled" and "后再试" in answers[3].json()["message"]
    assert VerificationCode.objects.count() == 3 and len(texts.sent) == 3


def test_fresh_accounts_from_one_address_are_limited_per_address(hospital, texts, tight):
    tight(account="100/hour", address="3/hour")
    clients = [client_for(make_account(hospital, f"oApplicant{n}")) for n in range(5)]

    answers = [ask(c, f"1390000{n:04d}") for n, c in enumerate(clients[:4])]
    elsewhere = ask(clients[4], "13900009999", ip="10.0.0.2")

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert elsewhere.status_code == 200
    assert not VerificationCode.objects.filter(phone="13900000003").exists()


def test_the_texts_limits_say_how_long_to_wait(hospital, texts, tight, monkeypatch):
    tight()
    me = client_for(make_account(hospital, "oApplicant1"))
    assert ask(me, "13911112222").status_code == 200
    sent = VerificationCode.objects.get().created_at
    monkeypatch.setattr(verification.timezone, "now", lambda: sent + timedelta(seconds=15))

    again = ask(me, "13911112222")

    assert again.status_code == 429
    assert again.json()["message"] == "验证码刚刚已发送到该手机，请 45 秒后再试。"

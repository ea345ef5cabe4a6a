"""The by-code lookup tells a stranger nothing: every mismatch answers alike, a paid code too.
Lookups and payments by code are limited per account, per client address and per code."""

import copy

import pytest

from hcm.his.fake import running_fake_his
from hcm.his.http import close_sessions
from hcm.outpatient.models import OutpatientPayment
from hcm.patients.models import WechatAccount
from tests.outpatient.conftest import SEED, client_for, rx

pytestmark = pytest.mark.django_db(transaction=True)
API = "/api/v1/clinic/patient/outpatient/"
NOT_FOUND = (404, {"code": "bill_not_found", "message": "没有与该编码和信息相符的待缴费处方。", "fields": {}})


@pytest.fixture
def fake_his():
    """The usual HIS, where 林雅琴 (phone …1342) also has RX22, paid at the window an hour ago."""
    seed = copy.deepcopy(SEED)
    paid = rx("RX22", department="儿科", settlement={"receipt_number": "R-WINDOW-1", "settled_ago": "1h"})
    seed["patients"][1]["prescriptions"].append(paid)
    with running_fake_his(seed) as server:
        yield server
    close_sessions()


@pytest.fixture
def tight(settings):
    def set_rates(**rates: str):
        settings.HCM_RATES = {**settings.HCM_RATES, "outpatient_code": rates}

    return set_rates


def lookup(client, ip: str = "10.0.0.1", **body):
    return client.post(API + "by-code/", body, format="json", REMOTE_ADDR=ip)


def stranger(hospital, n: int):
    return client_for(WechatAccount.objects.create(hospital=hospital, openid=f"oStranger{n:03d}"))


def test_every_mismatch_answers_the_same_and_a_paid_code_is_no_exception(hospital, fake_his):
    client = stranger(hospital, 1)
    mismatches = {
        "unknown code": lookup(client, pay_code="88NOPE", name="林雅琴"),
        "wrong name": lookup(client, pay_code="88RX21", name="尤小明"),
        "wrong phone tail": lookup(client, pay_code="88RX21", phone_tail="9999"),
        "paid, wrong name": lookup(client, pay_code="88RX22", name="尤小明"),
        "paid, wrong phone tail": lookup(client, pay_code="88RX22", phone_tail="9999"),
        "paid, right name": lookup(client, pay_code="88RX22", name="林雅琴"),
    }
    paying_paid = client.post(
        API + "by-code/pay/", {"pay_code": "88RX22", "name": "尤小明", "method": "wechat"}, format="json"
    )
    found = lookup(client, pay_code="88RX21", name="林雅琴")

    answers = {case: (answer.status_code, answer.json()) for case, answer in mismatches.items()}
    assert answers == dict.fromkeys(mismatches, NOT_FOUND)
    assert (paying_paid.status_code, paying_paid.json()) == NOT_FOUND
    assert not OutpatientPayment.objects.exists()
    assert found.status_code == 200 and found.json()["bill"]["number"] == "RX21"


def test_lookups_are_limited_per_account(hospital, tight):
    tight(account="3/hour", pay_code="100/hour", address="100/hour")
    client = stranger(hospital, 1)

    answers = [lookup(client, ip=f"10.0.0.{n}", pay_code=f"88X{n}", name="林雅琴").status_code for n in range(4)]

    assert answers == [404, 404, 404, 429]
    assert lookup(stranger(hospital, 2), pay_code="88RX21", name="林雅琴").status_code == 200


def test_a_fresh_account_does_not_continue_from_the_same_address(hospital, tight):
    tight(account="100/hour", pay_code="100/hour", address="3/hour")

    answers = [lookup(stranger(hospital, n), pay_code=f"88X{n}", name="林雅琴").status_code for n in range(4)]
    elsewhere = lookup(stranger(hospital, 9), ip="10.0.0.2", pay_code="88RX21", name="林雅琴")

    assert answers == [404, 404, 404, 429]
    assert elsewhere.status_code == 200


def test_guessing_the_second_factor_of_one_code_is_limited_per_code(hospital, tight):
    tight(account="100/hour", pay_code="3/hour", address="100/hour")

    guesses = [
        lookup(stranger(hospital, n), ip=f"10.0.1.{n}", pay_code="88RX21", phone_tail=f"{n:04d}").status_code
        for n in range(3)
    ]
    right = lookup(stranger(hospital, 7), ip="10.0.2.1", pay_code="88RX21", phone_tail="1342")
    paying = stranger(hospital, 8).post(
        API + "by-code/pay/",
        {"pay_code": "88RX21", "phone_tail": "1342", "method": "wechat"},
        format="json",
        REMOTE_ADDR="10.0.2.2",
    )

    assert guesses == [404, 404, 404]
    assert right.status_code == 429 and "后再试" in right.json()["message"]
    assert paying.status_code == 429 and not OutpatientPayment.objects.exists()
    assert lookup(stranger(hospital, 9), ip="10.0.2.3", pay_code="88RX1", name="尤小明").status_code == 200

"""Patient sign-in and binding attempts are limited per account, per client address and per
person tried; a refusal writes nothing."""

import pytest

from hcm.patients.models import Binding, WechatAccount
from tests.factories import id_number
from tests.patients.conftest import record, signed_in

URL = "/api/v1/hospa/patient/bindings/"
SANDBOX = "/api/v1/hospa/patient/auth/sandbox/"


@pytest.fixture
def tight(settings):
    def set_rates(scope: str, **rates: str):
        settings.HCM_RATES = {**settings.HCM_RATES, scope: rates}

    return set_rates


def account(hospital, n: int):
    return WechatAccount.objects.create(hospital=hospital, openid=f"openid-{n:03d}")


def attempt(client, patient, *, ip: str = "10.0.0.1", **changes):
    body = {"name": patient.name, "id_number": patient.id_number, "phone": patient.phone, **changes}
    return client.post(URL, body, format="json", REMOTE_ADDR=ip)


# --- Sign-in ----------------------------------------------------------------------------------------


def test_sandbox_sign_in_is_limited_per_openid_from_any_address(api, hospital, tight):
    tight("patient_sign_in", openid="3/min", address="100/min")

    answers = [
        api.post(SANDBOX, {"openid": "demo-user-1"}, format="json", REMOTE_ADDR=f"10.0.0.{n}").status_code
        for n in range(4)
    ]
    other = api.post(SANDBOX, {"openid": "demo-user-2"}, format="json", REMOTE_ADDR="10.0.0.1")

    assert answers == [200, 200, 200, 429]
    assert other.status_code == 200


def test_sign_in_is_limited_per_address_whatever_the_openid(api, hospital, tight):
    tight("patient_sign_in", openid="100/min", address="3/min")

    answers = [
        api.post(SANDBOX, {"openid": f"demo-user-{n}"}, format="json", REMOTE_ADDR="10.0.0.1").status_code
        for n in range(4)
    ]
    elsewhere = api.post(SANDBOX, {"openid": "demo-user-9"}, format="json", REMOTE_ADDR="10.0.0.2")

    assert answers == [200, 200, 200, 429]
    assert elsewhere.status_code == 200
    assert not WechatAccount.objects.filter(openid="demo-user-3").exists()  # the refused one was never created


# --- Binding ----------------------------------------------------------------------------------------


def test_binding_is_limited_per_address_across_accounts(hospital, mother, tight):
    tight("binding", account="100/hour", id_number="100/hour", phone="100/hour", address="3/hour")
    strangers = [record(hospital, card=f"S{n}", number=id_number(serial=900 + n)) for n in range(4)]

    answers = [
        attempt(signed_in(account(hospital, n)), person, phone="13900000000").status_code
        for n, person in enumerate(strangers)
    ]
    refused = attempt(signed_in(account(hospital, 10)), mother)
    elsewhere = attempt(signed_in(account(hospital, 11)), mother, ip="10.0.0.2")

    assert answers == [400, 400, 400, 429]
    assert refused.status_code == 429 and not Binding.objects.filter(account__openid="openid-010").exists()
    assert elsewhere.status_code == 201


def test_binding_is_limited_per_person_tried_across_accounts_and_addresses(hospital, mother, child, tight):
    tight("binding", account="100/hour", id_number="3/hour", phone="100/hour", address="100/hour")

    answers = [
        attempt(signed_in(account(hospital, n)), mother, ip=f"10.0.1.{n}", phone=f"1390000000{n}").status_code
        for n in range(3)
    ]
    right = attempt(signed_in(account(hospital, 20)), mother, ip="10.0.2.1")
    someone_else = attempt(signed_in(account(hospital, 21)), child, ip="10.0.2.1")

    assert answers == [400, 400, 400]
    assert right.status_code == 429 and right.json()["code"] == "throttled"
    assert not Binding.objects.filter(patient=mother).exists()
    assert someone_else.status_code == 201


def test_guessing_the_id_number_of_a_known_phone_is_limited_per_phone(hospital, mother, tight):
    tight("binding", account="100/hour", id_number="100/hour", phone="2/hour", address="100/hour")

    guesses = [
        attempt(signed_in(account(hospital, n)), mother, ip=f"10.0.1.{n}", id_number=id_number(serial=500 + n))
        for n in range(3)
    ]

    assert [g.status_code for g in guesses] == [400, 400, 429]


def test_only_binding_attempts_are_counted(patient_api, account, mother, tight):
    tight("binding", account="2/hour")
    binding = Binding.objects.create(hospital=account.hospital, account=account, patient=mother)

    reads = [patient_api.get(URL).status_code for _ in range(3)]
    switches = [patient_api.post(f"{URL}{binding.pk}/switch/").status_code for _ in range(3)]

    assert reads == [200] * 3 and switches == [200] * 3
    assert attempt(patient_api, mother, phone="13900000000").status_code == 400

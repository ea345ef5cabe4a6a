"""Staff sign-in is limited per username and per client address; a forged X-Forwarded-For is no
new address, and the header counts only when a configured proxy sends it."""

import pytest

from hcm.hospitals.roles import Role
from tests.conftest import make_operator

pytestmark = pytest.mark.django_db
TOKEN = "/api/v1/staff/token/"


def sign_in(api, username: str, password: str, **meta):
    return api.post(TOKEN, {"username": username, "password": password}, format="json", **meta)


@pytest.fixture
def editor(hospital_a):
    return make_operator("editor_a", hospital=hospital_a, role=Role.CONTENT_EDITOR, password="right-pass-1")


def test_forged_forwarded_addresses_do_not_get_around_the_limit(api, editor):
    answers = [sign_in(api, "editor_a", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(50)]
    right = sign_in(api, "editor_a", "right-pass-1", HTTP_X_FORWARDED_FOR="198.51.100.1")

    assert answers[:10] == [400] * 10 and set(answers[10:]) == {429}
    assert right.status_code == 429 and "token" not in right.json()


def test_many_usernames_from_one_address_are_limited_per_address(api, editor, settings):
    settings.HCM_RATES = {**settings.HCM_RATES, "staff_sign_in": {"username": "10/min", "address": "5/min"}}

    answers = [sign_in(api, f"guess{n}", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(6)]
    elsewhere = sign_in(api, "editor_a", "right-pass-1", REMOTE_ADDR="198.51.100.20")

    assert answers == [400] * 5 + [429]
    assert elsewhere.status_code == 200 and elsewhere.json()["token"]


def test_one_username_from_many_addresses_is_limited_per_username(api, editor, settings):
    settings.HCM_RATES = {**settings.HCM_RATES, "staff_sign_in": {"username": "3/min", "address": "30/min"}}

    answers = [sign_in(api, "editor_a", "wrong", REMOTE_ADDR=f"198.51.100.{n}").status_code for n in range(4)]
    other_user = sign_in(api, "editor_b", "wrong", REMOTE_ADDR="198.51.100.1")

    assert answers == [400] * 3 + [429]
    assert other_user.status_code == 400


def test_forwarded_addresses_count_when_a_configured_proxy_sends_them(api, editor, settings):
    settings.HCM_TRUSTED_PROXIES = ["127.0.0.1"]  # the test client's socket address: our "load balancer"
    settings.HCM_RATES = {**settings.HCM_RATES, "staff_sign_in": {"address": "3/min"}}

    different_clients = [
        sign_in(api, f"guess{n}", "wrong", HTTP_X_FORWARDED_FOR=f"1.2.3.4, 203.0.113.{n}").status_code for n in range(5)
    ]
    one_client = [
        sign_in(api, f"guess{n}", "wrong", HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 198.51.100.9").status_code
        for n in range(4)
    ]

    assert different_clients == [400] * 5
    assert one_client == [400] * 3 + [429]  # what the client wrote before the proxy's hop is ignored

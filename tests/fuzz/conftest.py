"""Both demo hospitals as `make demo-setup` leaves them (configs, fixtures, demo operators), a demo
patient signed in through the sandbox and bound to the demo record, a hospital admin's staff
token, and a first week of activity (tests/fuzz/journey.py); built once for the module inside a
transaction that is rolled back at the end.

Each test runs in its own savepoint (pytest-django), so what one operation's examples write is
gone before the next operation starts, and the HIS (the in-process fake seeded from
fixtures/*/his.json, `adapter: fake`) is put back as the journey left it. WeChat's servers are
stubbed: every sign-in code is refused as WeChat refuses an invalid one, and any other call to
WeChat fails the request it was made for (the stub answers nothing else).
"""

import io
from dataclasses import dataclass

import pytest
import responses
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from rest_framework.test import APIClient

from hcm.his.fake import in_process_transport, reset_in_process_fake
from hcm.hospitals.config import parse_config
from hcm.hospitals.management.commands.demo_accounts import DEMO_PASSWORD
from hcm.hospitals.models import Hospital
from hcm.hospitals.services import hospital_onboard
from hcm.patients.models import PatientRecord
from tests.fuzz.journey import walk_through

DEMO_HOSPITALS = ("ptdemo", "xmchild")
# The secrets `make demo` has or a deployment would have (names from configs/*.yaml).
SECRETS = {
    "PTDEMO_HIS_PUSH_SECRET": "demo-his-push-secret",
    "PTDEMO_WECHAT_APP_SECRET": "fuzz-app-secret",
    "XMCHILD_WECHAT_APP_SECRET": "fuzz-app-secret",
}
WECHAT_OAUTH_TOKEN = "https://api.weixin.qq.com/sns/oauth2/access_token"


@dataclass(frozen=True)
class DemoHospital:
    code: str
    patient_token: str
    staff_token: str

    def authorization(self, path: str) -> str | None:
        """The header each part of the API expects: the patient's bearer token, the operator's token."""
        if "/staff/" in path:
            return f"Token {self.staff_token}"
        if "/patient/" in path or "/payments/" in path:
            return f"Bearer {self.patient_token}"
        return None


def onboard_demo(code: str) -> Hospital:
    """The demo config as shipped, except that the HIS is the in-process fake instead of a port."""
    text = (settings.HCM_CONFIG_DIR / f"{code}.yaml").read_text(encoding="utf-8")
    assert "adapter: http" in text
    config = parse_config(text.replace("adapter: http", "adapter: fake"), filename=f"{code}.yaml")
    return hospital_onboard(config=config).hospital


def sign_in_and_bind(hospital: Hospital) -> str:
    """The README's route: sandbox sign-in, then bind the demo record with the config's identify_by fields."""
    client = APIClient()
    api = f"/api/v1/{hospital.code}/patient/"
    signed_in = client.post(api + "auth/sandbox/", {"openid": f"demo-{hospital.code}"}, format="json")
    assert signed_in.status_code == 200, signed_in.content
    token = signed_in.json()["token"]
    record = PatientRecord.objects.filter(hospital=hospital).order_by("medical_card_number").first()
    identity = {field: getattr(record, field) for field in hospital.settings.binding.identify_by}
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    bound = client.post(api + "bindings/", identity, format="json")
    assert bound.status_code == 201, bound.content
    return token


def staff_token(username: str) -> str:
    answer = APIClient().post("/api/v1/staff/token/", {"username": username, "password": DEMO_PASSWORD}, format="json")
    assert answer.status_code == 200, answer.content
    return answer.json()["token"]


def build_demo() -> dict[str, DemoHospital]:
    quiet = io.StringIO()
    hospitals = [onboard_demo(code) for code in DEMO_HOSPITALS]
    call_command("load_fixtures", stdout=quiet)
    with override_settings(DEBUG=True):  # pytest-django turns DEBUG off; the command wants it on
        call_command("demo_accounts", stdout=quiet)
    demo = {
        h.code: DemoHospital(code=h.code, patient_token=sign_in_and_bind(h), staff_token=staff_token(f"admin_{h.code}"))
        for h in hospitals
    }
    for hospital in demo.values():
        walk_through(hospital.code, patient_token=hospital.patient_token, staff_token=hospital.staff_token)
    return demo


@pytest.fixture(scope="module")
def wechat_servers():
    with pytest.MonkeyPatch.context() as env, responses.RequestsMock(assert_all_requests_are_fired=False) as wechat:
        for name, value in SECRETS.items():
            env.setenv(name, value)
        wechat.get(WECHAT_OAUTH_TOKEN, json={"errcode": 40029, "errmsg": "invalid code"})
        yield wechat


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory, wechat_servers) -> dict[str, DemoHospital]:
    """The demo hospitals by code, built once per module and rolled back after it."""
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("fuzz-media")):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            reset_in_process_fake()
            yield build_demo()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            reset_in_process_fake()


@pytest.fixture(scope="module")
def his_after_the_journey(demo):
    return in_process_transport().router.store.checkpoint()


@pytest.fixture
def same_his(his_after_the_journey):
    """Every operation meets the HIS as the journey left it, whatever the previous one settled."""
    in_process_transport().router.store.restore(his_after_the_journey)

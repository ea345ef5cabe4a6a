"""Invitation QR codes drawn by the hospital's official account, against WeChat's HTTP endpoints
stubbed with `responses`: asked for once per distributor and target, then served from the cache;
off in config or WeChat failing, the centre answers without them (the PNGs remain)."""

import json

import pytest
import requests
import responses
from responses.matchers import query_param_matcher

from hcm.distribution import official_account
from hcm.patients.wechat import WechatUnavailable
from tests.conftest import make_hospital
from tests.distribution.conftest import API, client_for, hospital_yaml
from tests.payments.wechat_fake import APP_ID

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN_URL = "https://api.weixin.qq.com/cgi-bin/token"
CREATE_URL = "https://api.weixin.qq.com/cgi-bin/qrcode/create"
SHOW_URL = "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket="


@pytest.fixture
def qr_on() -> bool:
    return True


@pytest.fixture
def hospital(db, qr_on):
    extra = hospital_yaml().replace("distribution:\n", f"distribution:\n  official_account_qr: {str(qr_on).lower()}\n")
    return make_hospital("dist", name="分销医院", extra=extra)


def wechat_issues_token(token: str = "TOKEN-Q") -> None:
    responses.get(
        TOKEN_URL,
        match=[query_param_matcher({"grant_type": "client_credential", "appid": APP_ID, "secret": "app-secret"})],
        json={"access_token": token, "expires_in": 7200},
    )


def wechat_answers_create(answer: dict, token: str = "TOKEN-Q") -> None:
    responses.post(CREATE_URL, match=[query_param_matcher({"access_token": token})], json=answer)


def tickets_for_each_scene() -> None:
    def answer(request):
        scene = json.loads(request.body)["action_info"]["scene"]["scene_str"]
        return 200, {}, json.dumps({"ticket": f"T/{scene}=", "url": f"http://weixin.qq.com/q/{scene}"})

    responses.add_callback(responses.POST, CREATE_URL, callback=answer, content_type="application/json")


def centre(distributor) -> dict:
    response = client_for(distributor.account).get(API)
    assert response.status_code == 200, response.json()
    return response.json()


def create_calls() -> list[dict]:
    return [json.loads(call.request.body) for call in responses.calls if call.request.url.startswith(CREATE_URL)]


def assert_nothing_was_cached(distributor) -> None:
    """Once WeChat answers again, both codes are asked for afresh."""
    responses.reset()
    wechat_issues_token("TOKEN-R")
    tickets_for_each_scene()
    assert centre(distributor)["official_account_qr"]["member"].startswith(SHOW_URL)
    assert [call["action_info"]["scene"]["scene_str"][0] for call in create_calls()] == ["d", "m"]


@responses.activate
def test_the_centre_offers_the_official_accounts_codes_of_both_invitations(seller):
    wechat_issues_token()
    tickets_for_each_scene()

    body = centre(seller)

    code = seller.invite_code
    assert body["official_account_qr"] == {
        "distributor": f"{SHOW_URL}T/d%3A{code}%3D",
        "member": f"{SHOW_URL}T/m%3A{code}%3D",
    }
    assert create_calls() == [
        {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": f"d:{code}"}}},
        {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": f"m:{code}"}}},
    ]
    assert body["invite_member"]["qr"].endswith(f"/public/distribution/{code}/qr/member.png")


@responses.activate
def test_a_ticket_is_asked_for_once_and_then_served_from_the_cache(seller):
    wechat_issues_token()
    tickets_for_each_scene()

    first = official_account.official_account_qr(seller, "member")
    second = official_account.official_account_qr(seller, "member")

    assert (
        first == second == {"ticket": f"T/m:{seller.invite_code}=", "url": f"{SHOW_URL}T/m%3A{seller.invite_code}%3D"}
    )
    assert [call.request.url.split("?")[0] for call in responses.calls] == [TOKEN_URL, CREATE_URL]
    assert [call.request.req_kwargs["timeout"] for call in responses.calls] == [5, 5]


@responses.activate
def test_the_centre_asks_wechat_nothing_the_second_time(seller):
    wechat_issues_token()
    tickets_for_each_scene()

    first = centre(seller)
    second = centre(seller)

    assert second["official_account_qr"] == first["official_account_qr"]
    assert len(create_calls()) == 2


@pytest.mark.parametrize("qr_on", [False])
@responses.activate
def test_off_in_config_the_centre_has_no_official_account_codes_and_wechat_is_not_called(seller):
    body = centre(seller)

    assert body["official_account_qr"] is None
    assert body["invite_distributor"]["qr"].endswith(f"/public/distribution/{seller.invite_code}/qr/distributor.png")
    assert len(responses.calls) == 0


@responses.activate
def test_a_wechat_refusal_leaves_the_codes_null_and_caches_nothing(seller):
    wechat_issues_token()
    wechat_answers_create({"errcode": 45009, "errmsg": "reach max api daily quota limit"})

    body = centre(seller)

    assert body["official_account_qr"] == {"distributor": None, "member": None}
    assert len(create_calls()) == 1  # the member's code is not tried after the first failure
    with pytest.raises(WechatUnavailable) as raised:
        official_account.official_account_qr(seller, "member")
    assert (raised.value.code, raised.value.status) == ("wechat_unavailable", 503)
    assert str(raised.value) == "微信服务暂时无法访问，请稍后再试。"
    assert_nothing_was_cached(seller)


@responses.activate
def test_a_network_failure_is_a_503_never_a_500_and_nothing_is_cached(seller):
    responses.get(TOKEN_URL, body=requests.ConnectionError(f"{TOKEN_URL}?appid={APP_ID}&secret=app-secret"))

    with pytest.raises(WechatUnavailable):
        official_account.official_account_qr(seller, "distributor")
    body = centre(seller)

    assert body["official_account_qr"] == {"distributor": None, "member": None}
    assert_nothing_was_cached(seller)


@responses.activate
def test_without_the_app_secret_the_codes_are_null_and_wechat_is_not_called(seller, monkeypatch):
    monkeypatch.delenv("TEST_WECHAT_SECRET")

    body = centre(seller)

    assert body["official_account_qr"] == {"distributor": None, "member": None}
    assert len(responses.calls) == 0

"""WeChat OAuth2 sign-in (WeChat's HTTP endpoints stubbed), sandbox sign-in, tokens per hospital."""

import pytest
import requests
import responses
from django.utils import timezone
from responses.matchers import query_param_matcher

from hcm.patients.models import PatientToken, WechatAccount
from tests.conftest import make_hospital
from tests.patients.conftest import signed_in

TOKEN_URL = "https://api.weixin.qq.com/sns/oauth2/access_token"
USERINFO_URL = "https://api.weixin.qq.com/sns/userinfo"


def wechat_answers_code(code: str, *, openid: str = "oPatient01", scope: str = "snsapi_userinfo") -> None:
    responses.get(
        TOKEN_URL,
        match=[
            query_param_matcher(
                {
                    "appid": "wx0123456789abcdef",
                    "secret": "app-secret",
                    "code": code,
                    "grant_type": "authorization_code",
                }
            )
        ],
        json={
            "access_token": "ACCESS",
            "expires_in": 7200,
            "refresh_token": "REFRESH",
            "openid": openid,
            "scope": scope,
        },
    )
    responses.get(
        USERINFO_URL,
        match=[query_param_matcher({"access_token": "ACCESS", "openid": openid, "lang": "zh_CN"})],
        json={
            "openid": openid,
            "nickname": "小明妈妈",
            "headimgurl": "https://thirdwx.qlogo.cn/a.png",
            "unionid": "u-1",
        },
    )


@pytest.fixture
def secret(monkeypatch):
    monkeypatch.setenv("HOSPA_WECHAT_SECRET", "app-secret")


@responses.activate
def test_wechat_sign_in_answers_a_token_that_works_at_this_hospital_only(api, hospital, other_hospital, secret):
    wechat_answers_code("CODE-1")

    response = api.post("/api/v1/hospa/patient/auth/wechat/", {"code": "CODE-1"}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    account = WechatAccount.objects.get(hospital=hospital, openid="oPatient01")
    assert body["account"] == {"id": account.pk, "nickname": "小明妈妈", "avatar_url": "https://thirdwx.qlogo.cn/a.png"}
    assert account.unionid == "u-1" and account.last_sign_in_at is not None
    assert not PatientToken.objects.filter(digest=body["token"]).exists()  # only the digest is stored
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert api.get("/api/v1/hospa/patient/me/").status_code == 200
    refused = api.get("/api/v1/hospb/patient/me/")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"


@responses.activate
def test_base_scope_sign_in_does_not_ask_for_the_profile(api, hospital, secret):
    wechat_answers_code("CODE-2", scope="snsapi_base")
    response = api.post("/api/v1/hospa/patient/auth/wechat/", {"code": "CODE-2"}, format="json")
    assert response.status_code == 200
    assert [call.request.url.split("?")[0] for call in responses.calls] == [TOKEN_URL]
    assert WechatAccount.objects.get(openid="oPatient01").nickname == ""


@responses.activate
def test_signing_in_twice_reuses_the_account(api, hospital, secret):
    wechat_answers_code("CODE-1")
    wechat_answers_code("CODE-2")
    first = api.post("/api/v1/hospa/patient/auth/wechat/", {"code": "CODE-1"}, format="json").json()
    second = api.post("/api/v1/hospa/patient/auth/wechat/", {"code": "CODE-2"}, format="json").json()
    assert first["account"]["id"] == second["account"]["id"]
    assert first["token"] != second["token"]
    assert WechatAccount.objects.count() == 1


@responses.activate
def test_the_same_openid_at_another_hospital_is_another_account(api, hospital, secret, monkeypatch):
    make_hospital(
        "hospc",
        extra="integrations:\n  wechat:\n    app_id: wx0123456789abcdef\n    app_secret_env: HOSPA_WECHAT_SECRET\n",
    )
    wechat_answers_code("CODE-1")
    wechat_answers_code("CODE-2")
    a = api.post("/api/v1/hospa/patient/auth/wechat/", {"code": "CODE-1"}, format="json").json()
    c = api.post("/api/v1/hospc/patient/auth/wechat/", {"code": "CODE-2"}, format="json").json()
    assert a["account"]["id"] != c["account"]["id"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {a['token']}")
    assert api.get("/api/v1/hospc/patient/me/").status_code == 403


@responses.activate
def test_an_invalid_code_is_refused_and_creates_nothing(api, hospital, secret):
    responses.get(TOKEN_URL, json={"errcode": 40029, "errmsg": "invalid code"})
    response = api.post("/api/v1/hospa/patient/auth/wechat/", {"code": "used-code"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "wechat_code_invalid"
    assert response.json()["message"] == "微信授权已失效或无效，请重新登录。"
    assert not WechatAccount.objects.exists()


@responses.activate
def test_wechat_down_is_a_503_with_a_clear_message(api, hospital, secret):
    responses.get(TOKEN_URL, body=requests.ConnectionError("unreachable"))
    response = api.post("/api/v1/hospa/patient/auth/wechat/", {"code": "CODE-1"}, format="json")
    assert response.status_code == 503
    assert response.json()["code"] == "wechat_unavailable"
    assert not WechatAccount.objects.exists()


def test_missing_app_secret_is_a_503_not_a_crash(api, hospital):
    response = api.post("/api/v1/hospa/patient/auth/wechat/", {"code": "CODE-1"}, format="json")
    assert response.status_code == 503 and response.json()["code"] == "wechat_unavailable"


def test_authorize_url_sends_the_browser_to_the_hospitals_official_account(api, hospital):
    response = api.get(
        "/api/v1/hospa/patient/auth/wechat/authorize-url/",
        {"redirect_uri": "https://h5.example.org/cb?x=1", "scope": "snsapi_userinfo", "state": "s1"},
    )
    assert response.status_code == 200
    assert response.json()["url"] == (
        "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx0123456789abcdef"
        "&redirect_uri=https%3A%2F%2Fh5.example.org%2Fcb%3Fx%3D1&response_type=code&scope=snsapi_userinfo"
        "&state=s1#wechat_redirect"
    )
    bad = api.get("/api/v1/hospa/patient/auth/wechat/authorize-url/", {"redirect_uri": "javascript:alert(1)"})
    assert bad.status_code == 400 and "redirect_uri" in bad.json()["fields"]


def test_sandbox_sign_in_works_where_the_config_says_sandbox(api, hospital):
    response = api.post(
        "/api/v1/hospa/patient/auth/sandbox/", {"openid": "demo-user-1", "nickname": "演示"}, format="json"
    )
    assert response.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    assert api.get("/api/v1/hospa/patient/me/").json()["account"]["nickname"] == "演示"


def test_sandbox_sign_in_is_refused_at_a_hospital_without_sandbox(api, db):
    make_hospital("prod", extra="integrations:\n  wechat:\n    app_id: wx0123456789abcdef\n")
    response = api.post("/api/v1/prod/patient/auth/sandbox/", {"openid": "demo-user-1"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"code": "sandbox_disabled", "message": "本医院不提供开发环境登录。", "fields": {}}
    assert not WechatAccount.objects.exists()


def test_expired_and_revoked_tokens_are_refused(hospital, account):
    client = signed_in(account)
    assert client.get("/api/v1/hospa/patient/me/").status_code == 200
    PatientToken.objects.update(expires_at=timezone.now())
    expired = client.get("/api/v1/hospa/patient/me/")
    assert expired.status_code == 401 and expired.json()["code"] == "authentication_failed"

    client = signed_in(account)
    assert client.post("/api/v1/hospa/patient/auth/sign-out/").status_code == 204
    assert client.get("/api/v1/hospa/patient/me/").status_code == 401


def test_patient_endpoints_need_a_token(api, hospital):
    response = api.get("/api/v1/hospa/patient/me/")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"


def test_sandbox_sign_in_is_refused_where_the_deployment_does_not_allow_sandbox_hospitals(api, hospital, settings):
    settings.HCM_ALLOW_SANDBOX_HOSPITALS = False  # the hospital was onboarded while it was allowed

    response = api.post("/api/v1/hospa/patient/auth/sandbox/", {"openid": "demo-user-1"}, format="json")

    assert response.status_code == 403
    assert response.json() == {"code": "sandbox_disabled", "message": "本医院不提供开发环境登录。", "fields": {}}
    assert not WechatAccount.objects.filter(openid="demo-user-1").exists()

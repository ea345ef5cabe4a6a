"""Staff API tokens: only a digest at rest, an expiry, and a sign-out that revokes them."""

import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from knox.models import AuthToken
from rest_framework.test import APIClient

from hcm.hospitals.roles import Role
from tests.conftest import make_operator

TOKEN = "/api/v1/staff/token/"
SIGN_OUT = "/api/v1/staff/token/sign-out/"
SIGN_OUT_EVERYWHERE = "/api/v1/staff/token/sign-out-everywhere/"


@pytest.fixture
def editor(hospital_a):
    return make_operator("editor_a", hospital=hospital_a, role=Role.CONTENT_EDITOR, password="right-pass-1")


def sign_in(username: str = "editor_a", password: str = "right-pass-1") -> dict:
    response = APIClient().post(TOKEN, {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def articles(hospital) -> str:
    return f"/api/v1/{hospital.code}/staff/articles/"


@pytest.mark.django_db
def test_only_a_digest_of_the_token_is_stored(editor):
    key = sign_in()["token"]

    row = AuthToken.objects.get(user=editor)
    assert row.digest == hashlib.sha512(key.encode()).hexdigest()
    assert row.token_key == key[:15] and len(key) == 64  # a lookup prefix, not enough to authenticate
    assert not AuthToken.objects.filter(digest=key).exists()
    stored = [str(value) for value in AuthToken.objects.values_list("digest", "token_key", "user_id").get()]
    assert key not in stored
    assert "authtoken_token" not in connection.introspection.table_names()  # DRF's plain-text table is gone


@pytest.mark.django_db
def test_the_answer_says_when_the_token_expires_and_it_works_until_then(editor, hospital_a, settings):
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_TTL": timedelta(hours=2)}
    before = timezone.now()

    answer = sign_in()

    expiry = parse_datetime(answer["expiry"])
    assert before + timedelta(hours=2) <= expiry <= timezone.now() + timedelta(hours=2)
    assert AuthToken.objects.get(user=editor).expiry == expiry
    assert with_token(answer["token"]).get(articles(hospital_a)).status_code == 200


@pytest.mark.django_db
def test_an_expired_token_is_refused_in_chinese_and_deleted(editor, hospital_a):
    key = sign_in()["token"]
    AuthToken.objects.filter(user=editor).update(expiry=timezone.now() - timedelta(seconds=1))

    response = with_token(key).get(articles(hospital_a))

    assert response.status_code == 401
    assert response.json() == {
        "code": "authentication_failed",
        "message": "登录失败或已过期，请重新登录。",
        "fields": {},
    }
    assert not AuthToken.objects.filter(user=editor).exists()


@pytest.mark.django_db
def test_sign_out_revokes_this_token_only(editor, hospital_a):
    first, second = sign_in()["token"], sign_in()["token"]

    response = with_token(first).post(SIGN_OUT)

    assert response.status_code == 204
    assert AuthToken.objects.filter(user=editor).count() == 1
    assert with_token(first).get(articles(hospital_a)).status_code == 401
    assert with_token(first).post(SIGN_OUT).status_code == 401
    assert with_token(second).get(articles(hospital_a)).status_code == 200


@pytest.mark.django_db
def test_sign_out_everywhere_revokes_every_token_of_the_operator_and_no_one_elses(editor, admin_a, hospital_a):
    mine = [sign_in()["token"] for _ in range(3)]
    theirs = sign_in("admin_a", "pw-123456")["token"]

    assert with_token(mine[0]).post(SIGN_OUT_EVERYWHERE).status_code == 204

    assert not AuthToken.objects.filter(user=editor).exists()
    assert [with_token(key).get(articles(hospital_a)).status_code for key in mine] == [401, 401, 401]
    assert with_token(theirs).get(articles(hospital_a)).status_code == 200


@pytest.mark.django_db
def test_sign_out_needs_a_staff_token(editor, hospital_a):
    key = sign_in()["token"]
    session = APIClient()
    session.force_login(editor)

    assert APIClient().post(SIGN_OUT).status_code == 401
    assert session.post(SIGN_OUT).json()["code"] == "not_authenticated"
    assert with_token("not-a-token").post(SIGN_OUT).status_code == 401
    assert AuthToken.objects.filter(user=editor).count() == 1
    assert with_token(key).get(articles(hospital_a)).status_code == 200


@pytest.mark.django_db
def test_a_deactivated_operators_token_stops_working(editor, hospital_a):
    key = sign_in()["token"]
    editor.is_active = False
    editor.save(update_fields=["is_active"])

    response = with_token(key).get(articles(hospital_a))

    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"


@pytest.mark.django_db
@pytest.mark.parametrize("header", [b"Token \xff\xfe", b"Token", b"Token a b", b"Token " + b"0" * 4000])
def test_malformed_token_headers_are_a_401_never_a_500(editor, hospital_a, header):
    response = APIClient().get(articles(hospital_a), HTTP_AUTHORIZATION=header.decode("latin-1"))

    assert response.status_code == 401
    assert set(response.json()) == {"code", "message", "fields"}


@pytest.mark.django_db
def test_wrong_credentials_issue_no_token(editor):
    response = APIClient().post(TOKEN, {"username": "editor_a", "password": "wrong"}, format="json")

    assert response.status_code == 400
    assert response.json()["message"] == "无法使用提供的认证信息登录。"
    assert not AuthToken.objects.exists()


@pytest.mark.django_db
def test_the_token_endpoint_opens_no_session(editor):
    response = APIClient().post(TOKEN, {"username": "editor_a", "password": "right-pass-1"}, format="json")

    assert response.status_code == 200
    assert "sessionid" not in response.cookies


@pytest.mark.django_db
def test_the_schema_describes_the_staff_token_for_swagger_ui(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    scheme = schema["components"]["securitySchemes"]["staffToken"]
    assert scheme["type"] == "apiKey" and scheme["in"] == "header" and scheme["name"] == "Authorization"
    assert "tokenAuth" not in schema["components"]["securitySchemes"]
    token = schema["paths"]["/api/v1/staff/token/"]["post"]
    assert token["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/StaffToken")
    assert schema["components"]["schemas"]["StaffToken"]["required"] == ["expiry", "token"]
    assert {"staffToken": []} in schema["paths"]["/api/v1/staff/token/sign-out/"]["post"]["security"]
    assert "/api/v1/staff/token/sign-out-everywhere/" in schema["paths"]

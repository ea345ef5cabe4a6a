"""Bodies the API cannot use (not a JSON object, nested too deep, too large) are refused in the
one error shape before any view acts on them; found by iterating the registry, not by example."""

import json

import pytest

from hcm.content.models import Article
from hcm.lowcode.declarations import registry
from hcm.lowcode.models import TransitionLog
from hcm.lowcode.transitions import model_transitions
from hcm.patients.models import WechatAccount
from tests.conftest import staff_client
from tests.factories import make_row

NOT_OBJECTS = ["[null, null]", "[1]", "null", '"text"', "42", "true"]


def transitions_of(scope_name: str) -> list[tuple]:
    found = []
    for resource in registry():
        scope = resource.scopes.get(scope_name)
        if scope is None or not scope.transitions:
            continue
        for info in model_transitions(resource.model).values():
            if scope_name in info.custom.get("scopes", ("staff",)) and info.custom.get("api", True):
                found.append((resource, info.name))
    return found


STAFF_TRANSITIONS = transitions_of("staff")
PATIENT_TRANSITIONS = transitions_of("patient")


def ids(pairs):
    return [f"{resource.label}.{name}" for resource, name in pairs]


def assert_not_an_object(response):
    assert response.status_code == 400, response.content
    assert response.json() == {"code": "malformed_request", "message": "请求内容必须是一个 JSON 对象。", "fields": {}}


def test_every_transition_is_found():
    """The generated transitions the issue names are among those iterated below."""
    names = set(ids(STAFF_TRANSITIONS))
    assert {"content.article.archive", "distribution.application.reject", "outpatient.outpatientpayment.refund"} <= (
        names
    )
    assert {"mall.order.cancel", "mall.order.request_refund"} <= set(ids(PATIENT_TRANSITIONS))


@pytest.mark.django_db
@pytest.mark.parametrize(("resource", "name"), STAFF_TRANSITIONS, ids=ids(STAFF_TRANSITIONS))
def test_staff_transitions_refuse_a_body_that_is_not_an_object(resource, name, hospital_a, admin_a):
    row = make_row(resource.model, hospital_a)
    field = model_transitions(resource.model)[name].field
    before = getattr(row, field)
    client = staff_client(admin_a)
    for body in NOT_OBJECTS:
        response = client.generic(
            "POST",
            f"/api/v1/{hospital_a.code}/staff/{resource.slug}/{row.pk}/{name}/",
            body,
            content_type="application/json",
        )
        assert_not_an_object(response)
    row.refresh_from_db()
    assert getattr(row, field) == before
    assert TransitionLog.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("resource", "name"), PATIENT_TRANSITIONS, ids=ids(PATIENT_TRANSITIONS))
def test_patient_transitions_refuse_a_body_that_is_not_an_object(resource, name, api, hospital_a):
    me = make_row(WechatAccount, hospital_a)
    row = make_row(resource.model, hospital_a, **{resource.scopes["patient"].owner: me})
    field = model_transitions(resource.model)[name].field
    before = getattr(row, field)
    api.force_authenticate(me)
    for body in NOT_OBJECTS:
        response = api.generic(
            "POST",
            f"/api/v1/{hospital_a.code}/patient/{resource.slug}/{row.pk}/{name}/",
            body,
            content_type="application/json",
        )
        assert_not_an_object(response)
    row.refresh_from_db()
    assert getattr(row, field) == before
    assert TransitionLog.objects.count() == 0


@pytest.mark.django_db
def test_create_refuses_a_list_body(hospital_a, admin_a):
    response = staff_client(admin_a).generic(
        "POST", f"/api/v1/{hospital_a.code}/staff/articles/", '[{"title": "t"}]', content_type="application/json"
    )
    assert_not_an_object(response)
    assert Article.objects.count() == 0


DEEP_ARRAY = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 5_000 + "1" + "}" * 5_000


@pytest.mark.django_db
@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT, '{"title": ' + "[" * 40 + "]" * 40 + "}"])
def test_deeply_nested_bodies_are_refused_before_parsing(body, hospital_a, admin_a):
    response = staff_client(admin_a).generic(
        "POST", f"/api/v1/{hospital_a.code}/staff/articles/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"code": "malformed_request", "message": "请求内容嵌套层级过深。", "fields": {}}
    assert Article.objects.count() == 0


@pytest.mark.django_db
def test_brackets_inside_strings_do_not_count_as_nesting(hospital_a, admin_a):
    response = staff_client(admin_a).post(
        f"/api/v1/{hospital_a.code}/staff/articles/", {"title": '[{"\\ 标题 \\"[[', "body": "[" * 5000}, format="json"
    )
    assert response.status_code == 201, response.content
    assert Article.objects.get().body == "[" * 5000


@pytest.mark.django_db
def test_ordinary_nesting_is_accepted(hospital_a, admin_a):
    body = json.dumps({"title": "春季养生", "body": "多喝水。", "extra": {"a": [[[{"b": [1, 2]}]]]}})
    response = staff_client(admin_a).generic(
        "POST", f"/api/v1/{hospital_a.code}/staff/articles/", body, content_type="application/json"
    )
    assert response.status_code == 201, response.content


TOO_LARGE = {"code": "too_large", "message": "请求内容过大。", "fields": {}}


@pytest.mark.django_db
def test_a_body_over_the_size_limit_is_a_json_413_on_api_views(hospital_a, admin_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = staff_client(admin_a).post(
        f"/api/v1/{hospital_a.code}/staff/articles/", {"title": "t", "body": "x" * 2000}, format="json"
    )
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == TOO_LARGE
    assert Article.objects.count() == 0


@pytest.mark.django_db
def test_a_body_over_the_size_limit_is_a_json_413_on_plain_api_views_too(client, hospital_a, settings):
    """The WeChat Pay notify endpoint is a plain Django view: Django's handler answers for it."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post(
        f"/api/v1/{hospital_a.code}/payments/wechat/payment-notify/", "<xml>" + "x" * 2000, content_type="text/xml"
    )
    assert response.status_code == 413
    assert response.json() == TOO_LARGE


@pytest.mark.django_db
def test_a_wrong_method_on_a_plain_api_view_is_a_json_405(client, hospital_a):
    response = client.get(f"/api/v1/{hospital_a.code}/payments/wechat/payment-notify/")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json() == {"code": "method_not_allowed", "message": "不支持此操作。", "fields": {}}


@pytest.mark.django_db
def test_a_wrong_method_on_a_generated_view_is_a_json_405(hospital_a, admin_a):
    response = staff_client(admin_a).put(f"/api/v1/{hospital_a.code}/staff/articles/", {}, format="json")
    assert response.status_code == 405
    assert response.json() == {"code": "method_not_allowed", "message": "不支持此操作。", "fields": {}}


def test_django_errors_on_api_paths_answer_the_error_shape(rf):
    from django.core.exceptions import RequestDataTooBig, SuspiciousOperation

    from hcm.lowcode import errors

    api = rf.get("/api/v1/x/patient/me/")
    assert json.loads(errors.json_400(api, SuspiciousOperation("bad")).content) == {
        "code": "bad_request",
        "message": "请求无效。",
        "fields": {},
    }
    assert errors.json_400(api, RequestDataTooBig()).status_code == 413
    forbidden = errors.json_403(api, None)
    assert forbidden.status_code == 403 and json.loads(forbidden.content)["code"] == "permission_denied"
    page = rf.get("/admin/")
    assert errors.json_400(page, SuspiciousOperation("bad"))["Content-Type"].startswith("text/html")
    assert errors.json_403(page, None)["Content-Type"].startswith("text/html")

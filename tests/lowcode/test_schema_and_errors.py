"""The OpenAPI schema, the offline docs page and the one error shape."""

import pytest
from django.core.management import call_command

from tests.conftest import staff_client


def test_openapi_schema_generates_with_no_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    text = (tmp_path / "schema.yaml").read_text(encoding="utf-8")
    assert "/api/v1/{hospital}/staff/articles/{id}/publish/" in text
    assert "/api/v1/{hospital}/public/site/home/" in text
    assert "/api/v1/{hospital}/patient/notes/" in text


@pytest.mark.django_db
def test_swagger_ui_is_served_without_any_cdn(client):
    page = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower() and "https://" not in page
    assert client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/schema/").status_code == 200


@pytest.mark.django_db
def test_unknown_hospital_is_a_404_in_the_error_shape(api):
    response = api.get("/api/v1/nowhere/public/articles/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "请求的内容不存在。", "fields": {}}


@pytest.mark.django_db
def test_unknown_api_path_is_json_too(client):
    response = client.get("/api/v1/nowhere/no-such-thing/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.django_db
def test_missing_token_is_401_with_a_chinese_message(api, hospital_a):
    response = api.get(f"/api/v1/{hospital_a.code}/staff/articles/")
    assert response.status_code == 401
    assert response.json() == {"code": "not_authenticated", "message": "请先登录。", "fields": {}}


@pytest.mark.django_db
def test_validation_errors_name_fields_and_write_nothing(hospital_a, admin_a):
    from hcm.content.models import Doctor

    response = staff_client(admin_a).post(
        f"/api/v1/{hospital_a.code}/staff/doctors/", {"name": "", "title": "surgeon-general"}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and set(body["fields"]) == {"name", "title"}
    assert body["message"] == "请修改标出的字段。"
    assert Doctor.objects.count() == 0


@pytest.mark.django_db
def test_malformed_json_is_400_not_500(hospital_a, admin_a):
    response = staff_client(admin_a).generic(
        "POST", f"/api/v1/{hospital_a.code}/staff/doctors/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["code"] == "malformed_request"


@pytest.mark.django_db
def test_english_is_available(api, hospital_a):
    response = api.get("/api/v1/nowhere/public/articles/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["message"] == "The requested item does not exist."


@pytest.mark.django_db
def test_staff_create_sets_the_hospital_from_the_url(hospital_a, hospital_b, admin_a):
    from hcm.content.models import Department

    response = staff_client(admin_a).post(
        f"/api/v1/{hospital_a.code}/staff/departments/", {"name": "心内科", "hospital": hospital_b.pk}, format="json"
    )
    assert response.status_code == 201
    assert Department.objects.get().hospital == hospital_a


def test_every_model_serializer_of_the_api_documents_blank_read_only_choices():
    """Hand-written model serializers derive from the engine's, which keeps "" in a read-only
    field's choices (DRF's drops it, and the schema then rejects an unpaid order's answer)."""
    from django.urls import get_resolver
    from rest_framework import serializers

    from hcm.lowcode.serializers import ModelSerializer

    get_resolver().url_patterns  # noqa: B018 -- imports every API module

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = {cls for cls in subclasses(serializers.ModelSerializer) if cls.__module__.startswith("hcm.")}
    assert len(ours) > 16  # the hand-written ones at least
    assert sorted(cls.__qualname__ for cls in ours if not issubclass(cls, ModelSerializer)) == []


def test_documented_errors_have_the_one_error_shape():
    from tests.openapi import api_document

    error = api_document()["paths"]["/api/v1/{hospital}/patient/bindings/"]["post"]["responses"]["400"]
    schema = error["content"]["application/json"]["schema"]
    assert schema["required"] == ["code", "message", "fields"]

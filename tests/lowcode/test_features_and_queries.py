"""Feature toggles hide admin menus and API endpoints; list endpoints keep a constant query count."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from hcm.hospitals.config import parse_config
from hcm.hospitals.services import hospital_config_update
from hcm.lowcode.declarations import LIST, registry
from hcm.patients.models import WechatAccount
from tests.conftest import staff_client
from tests.factories import make_row, make_rows

LISTABLE = [(r, scope) for r in registry() for scope, s in r.scopes.items() if LIST in s.operations]


def switch_features(hospital, features: str) -> None:
    config = parse_config(f"code: {hospital.code}\nname: {hospital.name}\nfeatures: {features}\n")
    hospital_config_update(hospital=hospital, config=config, author=None)


@pytest.mark.django_db
def test_feature_off_hides_admin_menu_and_answers_404_from_the_next_request(hospital_a, admin_a, api):
    client = Client()
    client.force_login(admin_a)
    assert "/admin/content/article/" in client.get("/admin/").content.decode()
    assert api.get(f"/api/v1/{hospital_a.code}/public/site/home/").status_code == 200
    assert staff_client(admin_a).get(f"/api/v1/{hospital_a.code}/staff/articles/").status_code == 200

    switch_features(hospital_a, "[mall]")

    assert "/admin/content/article/" not in client.get("/admin/").content.decode()
    assert client.get("/admin/content/article/").status_code == 403
    response = api.get(f"/api/v1/{hospital_a.code}/public/site/home/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert api.get(f"/api/v1/{hospital_a.code}/public/articles/").status_code == 404
    assert staff_client(admin_a).get(f"/api/v1/{hospital_a.code}/staff/articles/").status_code == 404

    switch_features(hospital_a, "[site]")
    assert api.get(f"/api/v1/{hospital_a.code}/public/articles/").status_code == 200


@pytest.mark.django_db
def test_feature_off_at_one_hospital_leaves_the_other_untouched(hospital_a, hospital_b, api):
    switch_features(hospital_a, "[mall]")
    assert api.get(f"/api/v1/{hospital_b.code}/public/site/home/").status_code == 200


def _client_for(scope, hospital, user):
    if scope == "staff":
        return staff_client(user)
    from rest_framework.test import APIClient

    client = APIClient()
    if scope == "patient":
        client.force_authenticate(user)
    return client


def _rows(resource, scope, hospital, count, owner):
    values = {}
    if scope == "public" and "state" in {f.name for f in resource.model._meta.fields}:
        values["state"] = "published"
    if scope == "patient":
        values[resource.scopes["patient"].owner] = owner
    return make_rows(resource.model, hospital, count, **values)


@pytest.mark.django_db
@pytest.mark.parametrize(("resource", "scope"), LISTABLE, ids=[f"{s}:{r.slug}" for r, s in LISTABLE])
def test_list_endpoints_issue_the_same_number_of_queries_for_1_and_50_rows(resource, scope, hospital_a, admin_a):
    patient = make_row(WechatAccount, hospital_a)
    user = admin_a if scope == "staff" else patient
    url = f"/api/v1/{hospital_a.code}/{scope}/{resource.slug}/?page_size=100"
    client = _client_for(scope, hospital_a, user)

    _rows(resource, scope, hospital_a, 1, patient)
    client.get(url)  # warm caches (content types, permissions) outside the measurement
    with CaptureQueriesContext(connection) as one:
        first = client.get(url)
    rows = _rows(resource, scope, hospital_a, 49, patient)
    with CaptureQueriesContext(connection) as many:
        second = client.get(url)
    assert first.status_code == second.status_code == 200
    assert second.json()["count"] == first.json()["count"] + len(rows) >= 2
    assert len(many) == len(one), [q["sql"] for q in many.captured_queries]

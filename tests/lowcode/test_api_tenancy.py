"""Tenancy over every generated endpoint, found by iterating the registry (not by example)."""

import pytest

from hcm.content.models import Publishable
from hcm.lowcode.declarations import DELETE, LIST, RETRIEVE, UPDATE, registry
from hcm.lowcode.tenancy_checks import tenant_relations
from hcm.lowcode.transitions import model_transitions
from hcm.patients.models import WechatAccount
from tests.conftest import staff_client
from tests.factories import make_row

STAFF = [r for r in registry() if "staff" in r.scopes]
PUBLIC = [r for r in registry() if "public" in r.scopes]
PATIENT = [r for r in registry() if "patient" in r.scopes]


def writable_relations(resource) -> list:
    scope = resource.scopes["staff"]
    if UPDATE not in scope.operations:
        return []
    return [f for f in tenant_relations(resource.model) if f.name in scope.fields and f.name not in scope.read_only]


WITH_RELATIONS = [r for r in STAFF if writable_relations(r)]


def ids(resources):
    return [r.label for r in resources]


def visible_values(resource) -> dict:
    return {"state": "published"} if issubclass(resource.model, Publishable) else {}


def url(hospital, scope, resource, pk=None, suffix=""):
    base = f"/api/v1/{hospital.code}/{scope}/{resource.slug}/"
    return base + (f"{pk}/" if pk is not None else "") + suffix


@pytest.mark.django_db
@pytest.mark.parametrize("resource", STAFF, ids=ids(STAFF))
def test_staff_endpoints_never_expose_another_hospitals_rows(resource, hospital_a, hospital_b, admin_a):
    mine = make_row(resource.model, hospital_a)
    theirs = make_row(resource.model, hospital_b)
    client = staff_client(admin_a)
    scope = resource.scopes["staff"]

    # The other hospital's URL: forbidden outright.
    assert client.get(url(hospital_b, "staff", resource)).status_code == 403
    if LIST in scope.operations:
        response = client.get(url(hospital_a, "staff", resource))
        assert response.status_code == 200
        assert [row["id"] for row in response.json()["results"]] == [mine.pk]
    if RETRIEVE in scope.operations:
        assert client.get(url(hospital_a, "staff", resource, theirs.pk)).status_code == 404
        assert client.get(url(hospital_a, "staff", resource, mine.pk)).status_code == 200
    if UPDATE in scope.operations:
        assert client.patch(url(hospital_a, "staff", resource, theirs.pk), {}, format="json").status_code == 404
    if DELETE in scope.operations:
        assert client.delete(url(hospital_a, "staff", resource, theirs.pk)).status_code == 404
        assert resource.model.objects.filter(pk=theirs.pk).exists()
    if scope.transitions:
        for name in model_transitions(resource.model):
            response = client.post(url(hospital_a, "staff", resource, theirs.pk, f"{name}/"), {}, format="json")
            assert response.status_code in (404, 405), name
    theirs.refresh_from_db()
    assert theirs.hospital_id == hospital_b.pk


@pytest.mark.django_db
@pytest.mark.parametrize("resource", WITH_RELATIONS, ids=ids(WITH_RELATIONS))
def test_staff_cannot_point_a_row_at_another_hospitals_rows(resource, hospital_a, hospital_b, admin_a):
    """Every tenant foreign key offered for input only accepts rows of the URL's hospital."""
    writable = writable_relations(resource)
    mine = make_row(resource.model, hospital_a)
    client = staff_client(admin_a)
    for field in writable:
        foreign = make_row(field.related_model, hospital_b)
        value = [foreign.pk] if field.many_to_many else foreign.pk
        response = client.patch(url(hospital_a, "staff", resource, mine.pk), {field.name: value}, format="json")
        assert response.status_code == 400, field.name
        assert field.name in response.json()["fields"]
        mine.refresh_from_db()
        if field.many_to_many:
            assert not getattr(mine, field.name).filter(pk=foreign.pk).exists()
        else:
            assert getattr(mine, f"{field.name}_id") != foreign.pk


@pytest.mark.django_db
@pytest.mark.parametrize("resource", PUBLIC, ids=ids(PUBLIC))
def test_public_endpoints_show_only_that_hospitals_published_rows(resource, api, hospital_a, hospital_b):
    mine = make_row(resource.model, hospital_a, **visible_values(resource))
    theirs = make_row(resource.model, hospital_b, **visible_values(resource))
    response = api.get(url(hospital_a, "public", resource))
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [mine.pk]
    assert api.get(url(hospital_a, "public", resource, theirs.pk)).status_code == 404
    assert api.post(url(hospital_a, "public", resource), {}, format="json").status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize("resource", PATIENT, ids=ids(PATIENT))
def test_patient_endpoints_show_only_the_patients_own_rows(resource, api, hospital_a, hospital_b):
    me = make_row(WechatAccount, hospital_a)
    neighbour = make_row(WechatAccount, hospital_a)
    stranger = make_row(WechatAccount, hospital_b)
    owner = resource.scopes["patient"].owner
    mine = make_row(resource.model, hospital_a, **{owner: me})
    neighbours = make_row(resource.model, hospital_a, **{owner: neighbour})
    make_row(resource.model, hospital_b, **{owner: stranger})

    assert api.get(url(hospital_a, "patient", resource)).status_code in (401, 403)
    api.force_authenticate(me)
    response = api.get(url(hospital_a, "patient", resource))
    assert [row["id"] for row in response.json()["results"]] == [mine.pk]
    assert api.get(url(hospital_a, "patient", resource, neighbours.pk)).status_code == 404
    # A patient of hospital A is nobody at hospital B.
    assert api.get(url(hospital_b, "patient", resource)).status_code == 403

"""Tenancy over every registered admin: rows, change, delete, export, import, FK choices, transitions."""

import pytest
import tablib
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import reverse

from hcm.lowcode.admin import TenantAdminMixin
from hcm.lowcode.transitions import model_transitions
from tests.factories import make_row

TENANT_ADMINS = [
    (model, model_admin)
    for model, model_admin in admin.site._registry.items()
    if isinstance(model_admin, TenantAdminMixin)
]
IMPORTABLE = [(m, a) for m, a in TENANT_ADMINS if hasattr(a, "get_export_queryset")]
WITH_TRANSITIONS = [(m, a) for m, a in TENANT_ADMINS if model_transitions(m)]


def ids(pairs):
    return [m._meta.label_lower for m, _ in pairs]


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def request_for(user, path="/admin/"):
    request = RequestFactory().get(path)
    request.user = user
    return request


def test_every_tenant_model_in_the_admin_is_generated_by_the_engine():
    from hcm.lowcode.tenancy_checks import is_tenant_model

    tenant_models = [m for m in admin.site._registry if is_tenant_model(m)]
    unguarded = [m._meta.label for m in tenant_models if not isinstance(admin.site._registry[m], TenantAdminMixin)]
    assert tenant_models and unguarded == []


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "model_admin"), TENANT_ADMINS, ids=ids(TENANT_ADMINS))
def test_operator_sees_and_changes_only_their_hospitals_rows(model, model_admin, hospital_a, hospital_b, admin_a):
    mine = make_row(model, hospital_a)
    theirs = make_row(model, hospital_b)
    client = logged_in(admin_a)

    response = client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    shown = list(response.context["cl"].result_list)
    assert mine in shown and theirs not in shown
    assert {obj.hospital_id for obj in shown} == {hospital_a.pk}

    assert client.get(admin_url(model, "change", mine.pk)).status_code == 200
    response = client.get(admin_url(model, "change", theirs.pk))
    assert response.status_code == 302  # "does not exist" redirect, as for a missing row
    client.post(admin_url(model, "delete", theirs.pk), {"post": "yes"})
    client.post(
        admin_url(model, "changelist"),
        {"action": "delete_selected", "_selected_action": [theirs.pk], "post": "yes"},
    )
    assert model.objects.filter(pk=theirs.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "model_admin"), TENANT_ADMINS, ids=ids(TENANT_ADMINS))
def test_foreign_key_dropdowns_offer_only_their_hospitals_rows(model, model_admin, hospital_a, hospital_b, admin_a):
    mine = make_row(model, hospital_a)
    make_row(model, hospital_b)
    checked = 0
    for obj in (mine, None):  # the change form and the add form
        form = model_admin.get_form(request_for(admin_a), obj)()
        for name, field in form.fields.items():
            queryset = getattr(field, "queryset", None)
            if queryset is None:
                continue
            related = queryset.model
            if related._meta.label_lower == "hospitals.hospital":
                assert set(queryset) <= {hospital_a}, name
                checked += 1
            elif hasattr(related, "hospital_id"):
                assert not queryset.filter(hospital=hospital_b).exists(), name
                checked += 1
    request = request_for(admin_a)
    assert checked >= 1 or not (
        model_admin.has_change_permission(request, mine) or model_admin.has_add_permission(request)
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "model_admin"), TENANT_ADMINS, ids=ids(TENANT_ADMINS))
def test_a_row_never_moves_to_another_hospital(model, model_admin, hospital_a, admin_a):
    mine = make_row(model, hospital_a)
    request = request_for(admin_a)
    if model_admin.has_change_permission(request, mine):
        assert "hospital" not in model_admin.get_form(request, mine)().fields


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "model_admin"), TENANT_ADMINS, ids=ids(TENANT_ADMINS))
def test_list_filters_name_only_their_hospitals(model, model_admin, hospital_a, hospital_b, admin_a):
    make_row(model, hospital_a)
    make_row(model, hospital_b)
    response = logged_in(admin_a).get(admin_url(model, "changelist"))
    assert hospital_b.name not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "model_admin"), IMPORTABLE, ids=ids(IMPORTABLE))
def test_export_contains_only_their_hospitals_rows(model, model_admin, hospital_a, hospital_b, admin_a):
    mine = make_row(model, hospital_a)
    theirs = make_row(model, hospital_b)
    request = request_for(admin_a, admin_url(model, "export"))
    queryset = model_admin.get_export_queryset(request)
    assert mine in queryset and theirs not in queryset
    dataset = model_admin.get_data_for_export(request, queryset)
    assert set(dataset["hospital"]) == {hospital_a.code}
    assert theirs.pk not in set(dataset["id"] if "id" in dataset.headers else [])


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "model_admin"), IMPORTABLE, ids=ids(IMPORTABLE))
def test_import_cannot_write_into_another_hospital(model, model_admin, hospital_a, hospital_b, admin_a):
    theirs = make_row(model, hospital_b)
    request = request_for(admin_a)
    resource_class = model_admin.get_import_resource_classes(request)[0]
    resource = resource_class(**model_admin.get_import_resource_kwargs(request))
    exported = resource_class(hospital_ids=None).export(queryset=model.objects.filter(pk=theirs.pk))
    before = model.objects.count()
    result = resource.import_data(tablib.Dataset().load(exported.csv, format="csv"), dry_run=False)
    assert result.has_errors() or result.has_validation_errors()
    assert model.objects.count() == before
    assert not model.objects.filter(hospital=hospital_a).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "model_admin"), WITH_TRANSITIONS, ids=ids(WITH_TRANSITIONS))
def test_admin_transitions_cannot_reach_another_hospitals_rows(model, model_admin, hospital_a, hospital_b, admin_a):
    theirs = make_row(model, hospital_b)
    state_before = theirs.state
    client = logged_in(admin_a)
    for name in model_transitions(model):
        client.post(admin_url(model, "change", theirs.pk), {"_fsm_transition_to": name})
        client.post(admin_url(model, "transition", theirs.pk, name), {"reason": "x", "answer": "x", "priority": 1})
    theirs.refresh_from_db()
    assert theirs.state == state_before

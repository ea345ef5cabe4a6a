"""The admin offers add and delete only where they can succeed: a model only services make (orders,
outpatient payments, bookings...) has no add or delete button for anyone, and every add form that is
offered asks for every column the database requires (or hands the row to a service)."""

import pytest
from django.contrib import admin
from django.db import models
from django.test import Client, RequestFactory
from django.urls import reverse

from hcm.lowcode.declarations import registry
from tests.factories import make_row

SERVICE_MADE = [r for r in registry() if r.made_by_services]


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def required_columns(model) -> set[str]:
    """Columns that would be NULL in the database if a form did not set them."""
    return {
        f.name
        for f in model._meta.concrete_fields
        if not (
            f.primary_key
            or f.null
            or f.has_default()
            or isinstance(f, (models.CharField, models.TextField))  # saved as ""
            or getattr(f, "auto_now", False)
            or getattr(f, "auto_now_add", False)
        )
    }


def saves_through_a_service(model_admin) -> bool:
    """The admin hands the new row to a service (its own save_model), not to the form."""
    return any("save_model" in vars(cls) and cls.__module__.startswith("hcm.") for cls in type(model_admin).__mro__)


def test_the_models_of_the_issue_are_made_by_services_only():
    labels = {r.label for r in SERVICE_MADE}
    assert {"mall.order", "outpatient.outpatientpayment", "appointments.booking"} <= labels


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "model_admin"), admin.site._registry.items(), ids=[m._meta.label_lower for m in admin.site._registry]
)
def test_every_add_form_offered_asks_for_every_required_column(model, model_admin, hospital_a, platform_admin):
    request = RequestFactory().get("/admin/")
    request.user = platform_admin
    if not model_admin.has_add_permission(request) or saves_through_a_service(model_admin):
        return
    asked = set(model_admin.get_form(request, None).base_fields)
    assert required_columns(model) - asked == set()


@pytest.mark.django_db
@pytest.mark.parametrize("resource", SERVICE_MADE, ids=[r.label for r in SERVICE_MADE])
def test_no_add_or_delete_for_rows_only_services_make(resource, hospital_a, platform_admin, admin_a):
    model = resource.model
    row = make_row(model, hospital_a)
    for user in (platform_admin, admin_a):
        client = logged_in(user)
        listing = client.get(admin_url(model, "changelist"))
        assert listing.status_code == 200
        assert admin_url(model, "add") not in listing.content.decode()
        assert client.get(admin_url(model, "add")).status_code == 403
        assert client.post(admin_url(model, "add"), {}).status_code == 403

        page = client.get(admin_url(model, "change", row.pk))
        assert page.status_code == 200
        assert admin_url(model, "delete", row.pk) not in page.content.decode()
        assert client.post(admin_url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
        client.post(
            admin_url(model, "changelist"), {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
        )
        assert model.objects.filter(pk=row.pk).exists()

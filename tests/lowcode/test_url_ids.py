"""An id in any URL that is not a number is a 404 before any view, permission check or query reads
it: in every generated and hand-written API route and in every admin page, found by walking them all."""

import re

import pytest
from django.contrib import admin
from django.db import models
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from hcm.lowcode.admin import ObjectIdConverter
from hcm.lowcode.declarations import DELETE, RETRIEVE, UPDATE, registry
from hcm.lowcode.transitions import model_transitions
from hcm.patients.models import WechatAccount
from tests.conftest import staff_client
from tests.factories import make_row

# A number; in the admin also `__fk__`, which only Django's related-object widgets reverse and never resolves.
NUMBERS = {"[0-9]+", ObjectIdConverter.regex}
ID_NAMES = re.compile(r"^(pk|id|object_id|product|.+_id|.+_pk)$")
GROUP = re.compile(r"\(\?P<(\w+)>([^)]*)\)")
# Django's own "view on site" redirect answers 404 for any id it cannot find (it catches ValueError).
DJANGO_SAFE = {"admin:view_on_site"}


def walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        regex = prefix + entry.pattern.regex.pattern.lstrip("^").rstrip("$").removesuffix(r"\Z")
        if isinstance(entry, URLResolver):
            space = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, regex, space)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}", regex


def text_keyed_admin_prefixes() -> tuple[str, ...]:
    """Admin URLs of models keyed by text (DRF's tokens, django-q's tasks): any id may be theirs."""
    return tuple(
        f"admin/{m._meta.app_label}/{m._meta.model_name}/"
        for m in admin.site._registry
        if not isinstance(m._meta.pk, models.IntegerField)
    )


def test_every_url_captures_its_ids_as_numbers():
    text_keyed = text_keyed_admin_prefixes()
    loose = [
        (name, regex)
        for name, regex in walk(get_resolver().url_patterns)
        for group, value in GROUP.findall(regex)
        if ID_NAMES.match(group)
        and value not in NUMBERS
        and name not in DJANGO_SAFE
        and not regex.startswith(text_keyed)
    ]
    assert loose == []


BAD_IDS = ["__fk__", "abc", "null,null", "1.5", "-1", "1e3", "%20"]
NOT_FOUND = {"code": "not_found", "message": "请求的内容不存在。", "fields": {}}


def detail_routes():
    for resource in registry():
        for scope_name, scope in resource.scopes.items():
            detail = {RETRIEVE, UPDATE, DELETE} & set(scope.operations) or scope.transitions
            if detail:
                yield resource, scope_name


DETAIL_ROUTES = list(detail_routes())


@pytest.mark.django_db
@pytest.mark.parametrize(("resource", "scope_name"), DETAIL_ROUTES, ids=[f"{s}:{r.label}" for r, s in DETAIL_ROUTES])
def test_generated_routes_answer_404_for_ids_that_are_not_numbers(resource, scope_name, api, hospital_a, admin_a):
    client = staff_client(admin_a) if scope_name == "staff" else api
    if scope_name == "patient":
        api.force_authenticate(make_row(WechatAccount, hospital_a))
    scope = resource.scopes[scope_name]
    count = resource.model.objects.count()
    for bad in BAD_IDS:
        base = f"/api/v1/{hospital_a.code}/{scope_name}/{resource.slug}/{bad}/"
        answers = [client.get(base), client.patch(base, {}, format="json"), client.delete(base)]
        if scope.transitions:
            answers += [client.post(f"{base}{name}/", {}, format="json") for name in model_transitions(resource.model)]
        for response in answers:
            assert response.status_code == 404, (bad, response.request["PATH_INFO"])
            assert response.json() == NOT_FOUND
    assert resource.model.objects.count() == count


# Models keyed by text (DRF's tokens, django-q's tasks) have no "id that is not a number".
ADMINS = [(m, a) for m, a in admin.site._registry.items() if isinstance(m._meta.pk, models.IntegerField)]


def admin_paths(model, model_admin, bad):
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/{bad}/"
    paths = [base, f"{base}change/", f"{base}delete/", f"{base}history/"]
    detail_actions = getattr(model_admin, "actions_detail", None) or []
    for name in getattr(model_admin, "_extract_action_names", lambda actions: [])(detail_actions):
        method = getattr(model_admin, name)
        paths.append(f"{base}{getattr(method, 'url_path', name).strip('/')}/")
    if getattr(model_admin, "fsm_fields", None):
        paths += [f"{base}transition/{name}/" for name in model_transitions(model)]
    return paths


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "model_admin"), ADMINS, ids=[m._meta.label_lower for m, _ in ADMINS])
def test_admin_pages_answer_404_for_ids_that_are_not_numbers(model, model_admin, platform_admin):
    client = Client()
    client.force_login(platform_admin)
    for bad in ("abc", "__fk__", "null,null", "1.5", "-1"):
        for path in admin_paths(model, model_admin, bad):
            assert client.get(path, follow=True).status_code == 404, path
            assert client.post(path, {"post": "yes"}).status_code == 404, path


@pytest.mark.django_db
def test_the_balance_card_list_has_no_export_and_its_url_is_a_404(platform_admin):
    """Cards are not exported: `export/` is read as a card id, which is not a number."""
    client = Client()
    client.force_login(platform_admin)
    assert client.get("/admin/wallet/balanceaccount/export/", follow=True).status_code == 404

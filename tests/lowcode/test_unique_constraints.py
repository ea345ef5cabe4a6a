"""Every unique field, unique-together set and unique constraint of every generated serializer that
accepts input answers a duplicate with a 400 naming the field (never the database's IntegrityError).

Found by iterating the registry: a constraint added to any model later is covered without a new test.
"""

import re
import uuid

import pytest
from django.db import models
from rest_framework import serializers

from hcm.content.models import Banner
from hcm.lowcode.declarations import CREATE, UPDATE, registry
from hcm.lowcode.serializers import build_serializer
from hcm.patients.models import WechatAccount
from tests.conftest import staff_client
from tests.factories import make_row

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def unique_sets(model) -> list[tuple[str, ...]]:
    """The field sets the model declares unique, however it declares them."""
    found = [(f.name,) for f in model._meta.concrete_fields if f.unique and not f.primary_key]
    found += [tuple(group) for group in model._meta.unique_together]
    found += [tuple(c.fields) for c in model._meta.constraints if isinstance(c, models.UniqueConstraint) and c.fields]
    return found


def input_fields(resource, scope_name) -> dict:
    serializer = build_serializer(resource, scope_name, resource.scopes[scope_name])()
    return {field.source: name for name, field in serializer.fields.items() if not field.read_only}


def cases() -> list[tuple]:
    found = []
    for resource in registry():
        for scope_name in ("staff", "patient"):
            scope = resource.scopes.get(scope_name)
            if scope is None or not {CREATE, UPDATE} & set(scope.operations):
                continue
            inputs = input_fields(resource, scope_name)
            for fields in unique_sets(resource.model):
                if set(fields) & set(inputs):
                    found.append((resource, scope_name, fields))
    return found


CASES = cases()


def case_id(case) -> str:
    resource, scope_name, fields = case
    return f"{scope_name}:{resource.label}:{'+'.join(fields)}"


def test_the_constraints_of_the_issue_are_covered():
    covered = {case_id(case) for case in CASES}
    for label in ("content.banner", "content.article", "content.department", "content.equipment", "content.page"):
        assert any(name.startswith(f"staff:{label}:") for name in covered), label


def distinct_values(model, fields, nth: int) -> dict:
    """Values that meet a constraint's condition (e.g. `his_slot_id` not empty) and differ from
    row to row (the `nth` choice of a field with choices, a fresh text otherwise)."""
    values = {}
    for name in fields:
        field = model._meta.get_field(name)
        if field.choices:
            values[name] = field.choices[nth % len(field.choices)][0]
        elif isinstance(field, models.CharField):
            values[name] = uuid.uuid4().hex[: min(field.max_length or 12, 12)]
    return values


def as_input(resource, scope_name, row, context) -> dict:
    """The row as the API shows it, limited to what the API accepts: a valid body for another row."""
    serializer = build_serializer(resource, scope_name, resource.scopes[scope_name])(row, context=context)
    data = serializer.data
    body = {}
    for name, field in serializer.fields.items():
        if field.read_only or isinstance(field, serializers.FileField) or data.get(name) is None:
            continue
        body[name] = data[name]
    return body


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_a_duplicate_is_a_400_naming_the_field(case, hospital_a, admin_a, api):
    resource, scope_name, fields = case
    model = resource.model
    owner = {}
    if scope_name == "patient":
        me = make_row(WechatAccount, hospital_a)
        owner = {resource.scopes["patient"].owner: me}
        api.force_authenticate(me)
        client = api
    else:
        client = staff_client(admin_a)
    existing = make_row(model, hospital_a, **owner, **distinct_values(model, fields, 0))
    other = make_row(model, hospital_a, **owner, **distinct_values(model, fields, 1))
    inputs = input_fields(resource, scope_name)
    named = [inputs[f] for f in fields if f in inputs]
    body = as_input(resource, scope_name, existing, {"hospital": hospital_a})
    base = f"/api/v1/{hospital_a.code}/{scope_name}/{resource.slug}/"
    count = model.objects.count()

    if CREATE in resource.scopes[scope_name].operations:
        response = client.post(base, body, format="json")
        assert response.status_code == 400, response.content
        answer = response.json()
        assert answer["code"] == "invalid"
        assert set(named) <= set(answer["fields"]), answer
        assert all(CHINESE.search(message) for name in named for message in answer["fields"][name]), answer
        assert model.objects.count() == count

    if UPDATE in resource.scopes[scope_name].operations:
        before = {f: getattr(other, model._meta.get_field(f).attname) for f in fields}
        response = client.patch(f"{base}{other.pk}/", {name: body[name] for name in named}, format="json")
        assert response.status_code == 400, response.content
        assert set(named) <= set(response.json()["fields"]), response.json()
        other.refresh_from_db()
        assert {f: getattr(other, model._meta.get_field(f).attname) for f in fields} == before


@pytest.mark.django_db
def test_the_banner_of_the_issue(hospital_a, admin_a):
    Banner.objects.create(hospital=hospital_a, title="春季体检")
    response = staff_client(admin_a).post(
        f"/api/v1/{hospital_a.code}/staff/banners/", {"title": "春季体检"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "message": "具有 标题 的 轮播图 已存在。",
        "fields": {"title": ["具有 标题 的 轮播图 已存在。"]},
    }
    assert Banner.objects.count() == 1


@pytest.mark.django_db
def test_the_same_value_at_another_hospital_is_no_duplicate(hospital_a, hospital_b, admin_b):
    Banner.objects.create(hospital=hospital_a, title="春季体检")
    response = staff_client(admin_b).post(
        f"/api/v1/{hospital_b.code}/staff/banners/", {"title": "春季体检"}, format="json"
    )
    assert response.status_code == 201
    assert Banner.objects.filter(hospital=hospital_b, title="春季体检").exists()


@pytest.mark.django_db
def test_saving_a_row_with_its_own_values_is_no_duplicate(hospital_a, admin_a):
    banner = Banner.objects.create(hospital=hospital_a, title="春季体检")
    url = f"/api/v1/{hospital_a.code}/staff/banners/{banner.pk}/"
    response = staff_client(admin_a).patch(url, {"title": "春季体检"}, format="json")
    assert response.status_code == 200

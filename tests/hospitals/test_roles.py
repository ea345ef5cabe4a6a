"""Roles map to permissions per hospital; an operator's role at one hospital says nothing of another."""

import pytest
from django.test import Client

from hcm.content.models import Article
from hcm.hospitals.backends import role_permissions
from hcm.hospitals.models import Membership
from hcm.hospitals.roles import Role
from tests.conftest import make_operator, staff_client
from tests.factories import make_row


@pytest.mark.django_db
def test_role_grants():
    editor = role_permissions({Role.CONTENT_EDITOR})
    assert {"content.change_article", "content.add_doctor", "content.delete_banner"} <= editor
    assert "hospitals.change_hospital" not in editor
    cashier = role_permissions({Role.CASHIER})
    assert "content.change_article" not in cashier and "patients.view_wechataccount" in cashier
    admin = role_permissions({Role.HOSPITAL_ADMIN})
    assert {"hospitals.change_hospital", "hospitals.view_membership"} <= admin
    assert "hospitals.change_membership" not in admin and "auth.add_user" not in admin


@pytest.mark.django_db
def test_operator_with_different_roles_at_two_hospitals(hospital_a, hospital_b):
    user = make_operator("two_hats", hospital=hospital_a, role=Role.CONTENT_EDITOR)
    Membership.objects.create(user=user, hospital=hospital_b, role=Role.CASHIER)
    mine = make_row(Article, hospital_a, title="甲", body="b")
    theirs = make_row(Article, hospital_b, title="乙", body="b")

    api = staff_client(user)
    assert api.post(f"/api/v1/{hospital_a.code}/staff/articles/{mine.pk}/publish/").status_code == 200
    assert api.get(f"/api/v1/{hospital_b.code}/staff/articles/").status_code == 403
    assert api.post(f"/api/v1/{hospital_b.code}/staff/articles/{theirs.pk}/publish/").status_code == 403

    client = Client()
    client.force_login(user)
    shown = list(client.get("/admin/content/article/").context["cl"].result_list)
    assert shown == [mine]
    assert client.get(f"/admin/content/article/{theirs.pk}/change/").status_code == 302
    theirs.refresh_from_db()
    assert theirs.state == "draft"


@pytest.mark.django_db
def test_operator_without_membership_sees_nothing(hospital_a, api):
    from django.contrib.auth import get_user_model

    stranger = get_user_model().objects.create_user("stranger", password="x", is_staff=True)
    assert staff_client(stranger).get(f"/api/v1/{hospital_a.code}/staff/articles/").status_code == 403
    client = Client()
    client.force_login(stranger)
    assert client.get("/admin/content/article/").status_code == 403


@pytest.mark.django_db
def test_operator_obtains_a_token_and_wrong_passwords_are_refused_and_throttled(api, hospital_a):
    from django.core.cache import cache

    cache.clear()
    make_operator("editor_a", hospital=hospital_a, role=Role.CONTENT_EDITOR, password="right-pass-1")
    response = api.post("/api/v1/staff/token/", {"username": "editor_a", "password": "right-pass-1"}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get(f"/api/v1/{hospital_a.code}/staff/articles/").status_code == 200

    api.credentials()
    wrong = api.post("/api/v1/staff/token/", {"username": "editor_a", "password": "nope"}, format="json")
    assert wrong.status_code == 400 and wrong.json()["code"] == "invalid"
    statuses = [
        api.post("/api/v1/staff/token/", {"username": "editor_a", "password": "nope"}, format="json").status_code
        for _ in range(10)
    ]
    assert statuses[-1] == 429
    cache.clear()

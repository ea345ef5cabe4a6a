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

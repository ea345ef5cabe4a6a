"""The hospital's page in the admin, the README's route to 编辑配置: it opens for every operator who
may see the hospital, offers the editor to those who may change it, and the list links to it too."""

import pytest
from django.test import Client
from django.urls import reverse

from hcm.hospitals.roles import Role
from tests.conftest import make_operator


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def change_url(hospital) -> str:
    return reverse("admin:hospitals_hospital_change", args=[hospital.pk])


def config_url(hospital) -> str:
    return reverse("admin:hospitals_hospital_config", args=[hospital.pk])


def edit_action_url(hospital) -> str:
    return reverse("admin:hospitals_hospital_edit_config", args=[hospital.pk])


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["platform_admin", "admin_a"])
def test_the_hospital_page_opens_and_offers_the_editor(who, request, hospital_a):
    client = logged_in(request.getfixturevalue(who))

    response = client.get(change_url(hospital_a))

    assert response.status_code == 200
    page = response.content.decode()
    assert edit_action_url(hospital_a) in page and "编辑配置" in page
    assert client.get(edit_action_url(hospital_a)).url == config_url(hospital_a)


@pytest.mark.django_db
def test_the_hospital_list_links_each_row_to_its_editor(platform_admin, hospital_a, hospital_b):
    page = logged_in(platform_admin).get(reverse("admin:hospitals_hospital_changelist")).content.decode()
    assert config_url(hospital_a) in page and config_url(hospital_b) in page
    assert "编辑配置" in page


@pytest.mark.django_db
def test_a_hospital_admin_lists_and_opens_only_their_hospital(admin_a, hospital_a, hospital_b):
    client = logged_in(admin_a)
    page = client.get(reverse("admin:hospitals_hospital_changelist")).content.decode()
    assert config_url(hospital_a) in page and config_url(hospital_b) not in page

    assert client.get(change_url(hospital_b)).status_code == 302  # "does not exist", as for a missing row
    assert client.get(edit_action_url(hospital_b)).status_code == 403
    assert client.get(config_url(hospital_b)).status_code == 404


@pytest.mark.django_db
def test_an_operator_without_the_change_permission_gets_no_editor(hospital_a, settings):
    settings.HCM_EXTRA_ROLE_GRANTS = {"finance": {"hospitals": ("view",)}}
    client = logged_in(make_operator("finance_a", hospital=hospital_a, role=Role.FINANCE))

    response = client.get(change_url(hospital_a))

    assert response.status_code == 200
    assert edit_action_url(hospital_a) not in response.content.decode()
    assert client.get(edit_action_url(hospital_a)).status_code == 403

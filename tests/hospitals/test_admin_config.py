"""Editing a hospital's configuration in the admin: validation, versions, restore, effect without restart."""

import pytest
from django.test import Client
from django.urls import reverse

from hcm.hospitals.config import dump_config_yaml
from hcm.hospitals.models import ConfigVersion, Hospital
from tests.conftest import make_operator


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def config_url(hospital) -> str:
    return reverse("admin:hospitals_hospital_config", args=[hospital.pk])


@pytest.mark.django_db
def test_hospital_admin_edits_config_creating_a_version_that_takes_effect_on_the_next_request(hospital_a, admin_a, api):
    client = logged_in(admin_a)
    assert client.get(config_url(hospital_a)).status_code == 200
    text = dump_config_yaml(hospital_a.settings).replace("name: 甲医院", "name: 甲医院（新院区）")
    response = client.post(config_url(hospital_a), {"config_yaml": text}, follow=True)
    assert "已保存为第 2 版" in response.content.decode()

    version = ConfigVersion.objects.get(hospital=hospital_a, number=2)
    assert version.author == admin_a and version.source == "admin"
    assert version.diff == "name: 甲医院 -> 甲医院（新院区）"
    # The API of this process reads the new version on the very next request.
    home = api.get(f"/api/v1/{hospital_a.code}/public/site/home/").json()
    assert home["hospital"]["name"] == "甲医院（新院区）"


@pytest.mark.django_db
def test_invalid_config_is_refused_with_the_same_messages_and_nothing_is_written(hospital_a, admin_a):
    client = logged_in(admin_a)
    text = dump_config_yaml(hospital_a.settings).replace("max_prescriptions: 10", "max_prescriptions: -1")
    response = client.post(config_url(hospital_a), {"config_yaml": text})
    page = response.content.decode()
    assert response.status_code == 200
    assert "hospa.yaml:" in page and "outpatient.merge.max_prescriptions" in page
    hospital_a.refresh_from_db()
    assert hospital_a.config_version == 1 and ConfigVersion.objects.filter(hospital=hospital_a).count() == 1


@pytest.mark.django_db
def test_changing_the_code_is_refused(hospital_a, admin_a):
    text = dump_config_yaml(hospital_a.settings).replace("code: hospa", "code: other")
    response = logged_in(admin_a).post(config_url(hospital_a), {"config_yaml": text})
    assert "医院编码不能修改" in response.content.decode()
    assert Hospital.objects.filter(code="other").count() == 0


@pytest.mark.django_db
def test_restoring_a_version_makes_a_new_version_with_the_old_config(hospital_a, admin_a):
    client = logged_in(admin_a)
    original = hospital_a.config
    text = dump_config_yaml(hospital_a.settings).replace("name: 甲医院", "name: 改名")
    client.post(config_url(hospital_a), {"config_yaml": text})
    assert Hospital.objects.get(pk=hospital_a.pk).name == "改名"

    first = ConfigVersion.objects.get(hospital=hospital_a, number=1)
    response = client.post(reverse("admin:hospitals_configversion_restore_detail", args=[first.pk]), follow=True)
    assert "第 1 版已恢复为第 3 版" in response.content.decode()
    hospital = Hospital.objects.get(pk=hospital_a.pk)
    assert (hospital.config_version, hospital.config, hospital.name) == (3, original, "甲医院")
    assert ConfigVersion.objects.get(hospital=hospital_a, number=3).source == "restore"


@pytest.mark.django_db
def test_operators_cannot_reach_another_hospitals_config(hospital_a, hospital_b, admin_a):
    client = logged_in(admin_a)
    assert client.get(config_url(hospital_b)).status_code == 404
    text = dump_config_yaml(hospital_b.settings).replace("name: 乙医院", "name: 被改了")
    assert client.post(config_url(hospital_b), {"config_yaml": text}).status_code == 404
    other_version = ConfigVersion.objects.get(hospital=hospital_b)
    client.post(reverse("admin:hospitals_configversion_restore_detail", args=[other_version.pk]))
    assert Hospital.objects.get(pk=hospital_b.pk).config_version == 1
    changelist = client.get(reverse("admin:hospitals_hospital_changelist"))
    assert list(changelist.context["cl"].result_list) == [hospital_a]


@pytest.mark.django_db
def test_only_hospital_admins_edit_config(hospital_a):
    cashier = make_operator("cashier_a", hospital=hospital_a, role="cashier")
    response = logged_in(cashier).get(config_url(hospital_a))
    assert response.status_code in (302, 403)
    assert logged_in(cashier).post(config_url(hospital_a), {"config_yaml": "code: hospa\nname: x\n"}).status_code in (
        302,
        403,
    )
    assert Hospital.objects.get(pk=hospital_a.pk).config_version == 1


@pytest.mark.django_db
def test_platform_admin_sees_every_hospital(hospital_a, hospital_b, platform_admin):
    changelist = logged_in(platform_admin).get(reverse("admin:hospitals_hospital_changelist"))
    assert set(changelist.context["cl"].result_list) == {hospital_a, hospital_b}

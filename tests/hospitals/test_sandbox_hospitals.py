"""Sandbox hospitals (`integrations.wechat.sandbox`) are for demos: a deployment refuses to
onboard them unless HCM_ALLOW_SANDBOX_HOSPITALS (on by default only with DEBUG), and the admin
marks them."""

import io
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import AdminReadonlyField
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, RequestFactory
from django.urls import reverse

from hcm.hospitals.config import ConfigError, dump_config_yaml, parse_config
from hcm.hospitals.models import ConfigVersion, Hospital
from hcm.hospitals.services import hospital_config_restore, hospital_config_update, hospital_onboard
from tests.conftest import make_hospital
from tests.test_settings import PRODUCTION, setting

SANDBOX_YAML = "code: demo\nname: 演示医院\nfeatures: [site, mall]\nintegrations:\n  wechat: {sandbox: true}\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "demo.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_sandbox_hospitals_are_allowed_by_default_only_with_debug(tmp_path):
    env = {**PRODUCTION, "HCM_VAR_DIR": str(tmp_path)}
    assert setting("settings.HCM_ALLOW_SANDBOX_HOSPITALS", env) == "False"
    assert setting("settings.HCM_ALLOW_SANDBOX_HOSPITALS", {**env, "HCM_ALLOW_SANDBOX_HOSPITALS": "1"}) == "True"
    assert setting("settings.HCM_ALLOW_SANDBOX_HOSPITALS", {"DEBUG": "1", "HCM_VAR_DIR": str(tmp_path)}) == "True"


@pytest.mark.django_db
def test_onboarding_a_sandbox_hospital_is_refused_when_not_allowed(tmp_path, settings):
    settings.HCM_ALLOW_SANDBOX_HOSPITALS = False
    file = write(tmp_path, SANDBOX_YAML)
    err = io.StringIO()

    with pytest.raises(CommandError) as refused:
        call_command("onboard", str(file), stderr=err)

    assert refused.value.returncode == 2
    assert f"{file}: integrations.wechat.sandbox: sandbox hospitals" in err.getvalue()
    assert "HCM_ALLOW_SANDBOX_HOSPITALS=1" in err.getvalue()
    assert Hospital.objects.count() == ConfigVersion.objects.count() == 0


@pytest.mark.django_db
def test_the_onboarding_service_refuses_it_too(settings):
    settings.HCM_ALLOW_SANDBOX_HOSPITALS = False

    with pytest.raises(ConfigError) as refused:
        hospital_onboard(config=parse_config(SANDBOX_YAML))

    assert [issue.path for issue in refused.value.issues] == ["integrations.wechat.sandbox"]
    assert not Hospital.objects.exists()


@pytest.mark.django_db
def test_onboarding_a_sandbox_hospital_works_where_allowed(tmp_path, settings):
    settings.HCM_ALLOW_SANDBOX_HOSPITALS = True

    call_command("onboard", str(write(tmp_path, SANDBOX_YAML)), stdout=io.StringIO())

    assert Hospital.objects.get(code="demo").sandbox_enabled


@pytest.mark.django_db
def test_the_admin_editor_refuses_to_turn_a_hospital_into_a_sandbox(hospital_a, admin_a, settings):
    settings.HCM_ALLOW_SANDBOX_HOSPITALS = False
    text = dump_config_yaml(hospital_a.settings).replace("sandbox: false", "sandbox: true")
    assert text != dump_config_yaml(hospital_a.settings)

    response = logged_in(admin_a).post(
        reverse("admin:hospitals_hospital_config", args=[hospital_a.pk]), {"config_yaml": text}
    )

    assert response.status_code == 200
    assert "hospa.yaml: integrations.wechat.sandbox: sandbox hospitals" in response.content.decode()
    hospital_a.refresh_from_db()
    assert hospital_a.config_version == 1 and not hospital_a.settings.integrations.wechat.sandbox


@pytest.mark.django_db
def test_restoring_a_sandbox_version_is_refused_when_not_allowed(settings):
    hospital = make_hospital("demo", extra="integrations:\n  wechat: {sandbox: true}\n")
    text = dump_config_yaml(hospital.settings).replace("sandbox: true", "sandbox: false")
    hospital_config_update(hospital=hospital, config=parse_config(text), author=None)
    settings.HCM_ALLOW_SANDBOX_HOSPITALS = False

    with pytest.raises(ConfigError):
        hospital_config_restore(version=ConfigVersion.objects.get(hospital=hospital, number=1), author=None)

    hospital.refresh_from_db()
    assert hospital.config_version == 2 and not hospital.settings.integrations.wechat.sandbox


@pytest.mark.django_db
def test_the_hospital_list_marks_sandbox_hospitals(platform_admin, hospital_a, settings):
    make_hospital("demo", name="演示医院", extra="integrations:\n  wechat: {sandbox: true}\n")
    client = logged_in(platform_admin)

    page = client.get(reverse("admin:hospitals_hospital_changelist")).content.decode()

    assert "沙箱" in page  # the column's header
    assert page.count("沙箱（演示）") == 1  # the demo hospital's badge; hospa has none
    settings.HCM_ALLOW_SANDBOX_HOSPITALS = False
    refused = client.get(reverse("admin:hospitals_hospital_changelist")).content.decode()
    assert refused.count("沙箱（本部署已拒绝）") == 1 and "沙箱（演示）" not in refused


@pytest.mark.django_db
def test_the_hospital_change_page_shows_the_sandbox_badge(platform_admin, settings):
    hospital = make_hospital("demo", name="演示医院", extra="integrations:\n  wechat: {sandbox: true}\n")
    model_admin = admin.site._registry[Hospital]
    request = RequestFactory().get("/admin/")
    request.user = platform_admin
    form = model_admin.get_form(request, hospital)(instance=hospital)

    assert "sandbox_status" in model_admin.get_fields(request, hospital)
    assert "sandbox_status" in model_admin.get_readonly_fields(request, hospital)
    field = AdminReadonlyField(form, "sandbox_status", is_first=True, model_admin=model_admin)
    assert "沙箱（演示）" in field.contents() and "<span" in field.contents()
    settings.HCM_ALLOW_SANDBOX_HOSPITALS = False
    assert "沙箱（本部署已拒绝）" in AdminReadonlyField(form, "sandbox_status", True, model_admin).contents()

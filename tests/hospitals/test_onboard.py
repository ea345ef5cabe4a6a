"""manage.py onboard / export_config / config_schema."""

import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from hcm.hospitals.config import parse_config
from hcm.hospitals.management.commands.config_schema import schema_text
from hcm.hospitals.models import ConfigVersion, Hospital

CONFIG_FILES = sorted(settings.HCM_CONFIG_DIR.glob("*.yaml"))


def onboard(*paths, dry_run=False) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    args = [str(p) for p in paths] + (["--dry-run"] if dry_run else [])
    call_command("onboard", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write(tmp_path: Path, text: str, name: str = "h.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = "code: tiny\nname: 小医院\nfeatures: [site]\n"

REJECTIONS = {
    "unknown key": ("code: tiny\nname: 小医院\ncolour: red\n", 3, "colour", "unknown key 'colour'"),
    "nested unknown key": (
        "code: tiny\nname: 小医院\nbalance:\n  password:\n    lenght: 6\n",
        5,
        "balance.password.lenght",
        "unknown key 'lenght'",
    ),
    "wrong type": (
        "code: tiny\nname: 小医院\nbinding:\n  max_bound_people: many\n",
        4,
        "binding.max_bound_people",
        "integer",
    ),
    "negative number": ("code: tiny\nname: 小医院\nrecharge:\n  min: -5\n", 4, "recharge.min", "0"),
    "out of range": (
        "code: tiny\nname: 小医院\nappointments:\n  booking_window_days: 400\n",
        4,
        "appointments.booking_window_days",
        "90",
    ),
    "unknown payment method": (
        "code: tiny\nname: 小医院\npayments:\n  methods: [balance, alipay]\n",
        4,
        "payments.methods[1]",
        "balance, at_hospital, wechat",
    ),
    "rate above 1": (
        "code: tiny\nname: 小医院\ndistribution:\n  commission:\n    direct_rate: '1.5'\n",
        5,
        "distribution.commission.direct_rate",
        "between 0 and 1",
    ),
    "invalid cron": (
        "code: tiny\nname: 小医院\noutpatient:\n  pay_later:\n    remind_at: '61 9 * * *'\n",
        5,
        "outpatient.pay_later.remind_at",
        "cron expression",
    ),
    "inline secret": (
        "code: tiny\nname: 小医院\nintegrations:\n  wechat:\n    app_secret: s3cr3t\n",
        5,
        "integrations.wechat.app_secret",
        "app_secret_env",
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", REJECTIONS, ids=list(REJECTIONS))
def test_onboard_rejects_bad_config_with_file_line_path_and_writes_nothing(tmp_path, case):
    file = write(tmp_path, REJECTIONS[case][0])
    with pytest.raises(CommandError) as raised:
        onboard(file)
    assert raised.value.returncode == 2
    assert "nothing was written" in str(raised.value)
    assert Hospital.objects.count() == 0 and ConfigVersion.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("case", REJECTIONS, ids=list(REJECTIONS))
def test_rejection_message_names_file_line_and_key(tmp_path, case, capsys):
    text, line, path, expected = REJECTIONS[case]
    file = write(tmp_path, text)
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("onboard", str(file), stderr=err)
    message = err.getvalue()
    assert f"{file}:{line}: {path}: " in message
    assert expected in message


@pytest.mark.django_db
def test_onboard_all_or_nothing_across_files(tmp_path):
    good = write(tmp_path, MINIMAL, "good.yaml")
    bad = write(tmp_path, "code: other\nname: x\nfeatures: [teleport]\n", "bad.yaml")
    with pytest.raises(CommandError):
        onboard(good, bad)
    assert Hospital.objects.count() == 0


@pytest.mark.django_db
def test_three_line_file_is_valid_and_onboarding_twice_is_idempotent(tmp_path):
    file = write(tmp_path, MINIMAL)
    out, _ = onboard(file)
    assert "tiny (小医院): created, version 1" in out
    out, _ = onboard(file)
    assert "tiny (小医院): unchanged" in out
    hospital = Hospital.objects.get()
    assert hospital.config_version == 1
    assert ConfigVersion.objects.count() == 1
    assert hospital.settings.features == ("site",)


@pytest.mark.django_db
def test_onboard_update_prints_changes_and_adds_a_version(tmp_path):
    onboard(write(tmp_path, MINIMAL))
    out, _ = onboard(write(tmp_path, MINIMAL + "payments:\n  methods: [wechat]\n"))
    assert "tiny (小医院): updated, version 2" in out
    assert "payments.methods[0]: at_hospital -> wechat" in out
    version = ConfigVersion.objects.get(number=2)
    assert version.source == "onboard" and "payments.methods" in version.diff


@pytest.mark.django_db
def test_dry_run_writes_nothing(tmp_path):
    out, _ = onboard(write(tmp_path, MINIMAL), dry_run=True)
    assert "would be created" in out
    assert Hospital.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("path", CONFIG_FILES, ids=[p.name for p in CONFIG_FILES])
def test_export_round_trip_for_every_config_file(tmp_path, path):
    onboard(path)
    hospital = Hospital.objects.get()
    exported = io.StringIO()
    call_command("export_config", hospital.code, stdout=exported)
    assert parse_config(exported.getvalue()) == parse_config(path.read_text(encoding="utf-8"))
    out, _ = onboard(write(tmp_path, exported.getvalue()))
    assert "unchanged" in out
    assert Hospital.objects.get().config_version == 1


def test_configs_hold_two_hospitals_that_differ_in_every_section():
    configs = [parse_config(p.read_text(encoding="utf-8"), filename=p.name) for p in CONFIG_FILES]
    assert len(configs) >= 2
    first, second = (c.model_dump(mode="json") for c in configs[:2])
    different = {key for key in first if first[key] != second[key]}
    assert different == set(first), f"sections that do not differ: {set(first) - different}"


def test_schema_json_is_current():
    current = (settings.HCM_CONFIG_DIR / "schema.json").read_text(encoding="utf-8")
    assert current == schema_text(), "configs/schema.json is stale: run `make schema`"
    assert set(json.loads(current)["properties"]) >= {"payments", "outpatient", "distribution", "integrations"}


@pytest.mark.django_db
def test_export_unknown_code_exits_2():
    with pytest.raises(CommandError) as raised:
        call_command("export_config", "nope")
    assert raised.value.returncode == 2

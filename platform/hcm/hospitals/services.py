"""Writes to hospitals and their configuration: onboarding, edits, restores."""

from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from hcm.hospitals.config import (
    ConfigError,
    ConfigIssue,
    HospitalConfig,
    config_to_data,
    diff_configs,
    parse_config_data,
)
from hcm.hospitals.models import ConfigVersion, Hospital


@dataclass(frozen=True)
class ConfigChange:
    hospital: Hospital
    created: bool
    changes: list[str] = field(default_factory=list)
    version: ConfigVersion | None = None

    @property
    def changed(self) -> bool:
        return self.created or bool(self.changes)


SANDBOX_REFUSED = (
    "sandbox hospitals (sign-in without WeChat, WeChat Pay with a key that is in the source code) are "
    "for demos only and this deployment refuses them; remove the key, or set HCM_ALLOW_SANDBOX_HOSPITALS=1 "
    "on a demo deployment that holds no real patients"
)


def deployment_refusals(*, config: HospitalConfig, filename: str) -> list[ConfigIssue]:
    """What this deployment refuses in a valid configuration: a sandbox hospital, unless
    settings.HCM_ALLOW_SANDBOX_HOSPITALS (on by default only with DEBUG)."""
    if config.integrations.wechat.sandbox and not settings.HCM_ALLOW_SANDBOX_HOSPITALS:
        return [ConfigIssue(filename, None, "integrations.wechat.sandbox", SANDBOX_REFUSED)]
    return []


def _check_deployment(config: HospitalConfig) -> None:
    issues = deployment_refusals(config=config, filename=f"{config.code}.yaml")
    if issues:
        raise ConfigError(issues)


class _DryRun(Exception):
    """Raised inside the transaction of a dry run so that nothing is kept."""


def _config_applied() -> None:
    """Tell the apps that keep something in step with the configs (e.g. per-hospital schedules),
    named by dotted path in settings.HCM_CONFIG_APPLIED: hospitals knows no feature app."""
    for path in settings.HCM_CONFIG_APPLIED:
        import_string(path)()


def _write_version(*, hospital: Hospital, data: dict, diff: list[str], source: str, author) -> ConfigVersion:
    hospital.config = data
    hospital.config_version += 1
    hospital.save(update_fields=["config", "config_version", "name", "updated_at"])
    transaction.on_commit(_config_applied)
    return ConfigVersion.objects.create(
        hospital=hospital,
        number=hospital.config_version,
        config=data,
        diff="\n".join(diff),
        source=source,
        author=author,
    )


def hospital_onboard(*, config: HospitalConfig, author=None, dry_run: bool = False) -> ConfigChange:
    """Create or update the hospital `config.code` atomically; an unchanged config writes nothing."""
    try:
        with transaction.atomic():
            result = _onboard(config=config, author=author)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return result


def _onboard(*, config: HospitalConfig, author) -> ConfigChange:
    _check_deployment(config)
    data = config_to_data(config)
    hospital = Hospital.objects.select_for_update().filter(code=config.code).first()
    created = hospital is None
    if created:
        hospital = Hospital.objects.create(code=config.code, name=config.name, config={}, config_version=0)
    diff = diff_configs({} if created else hospital.config, data)
    if not diff:
        return ConfigChange(hospital=hospital, created=False)
    hospital.name = config.name
    version = _write_version(
        hospital=hospital, data=data, diff=diff, source=ConfigVersion.Source.ONBOARD, author=author
    )
    return ConfigChange(hospital=hospital, created=created, changes=diff, version=version)


def hospital_config_update(
    *, hospital: Hospital, config: HospitalConfig, author, source: str = ConfigVersion.Source.ADMIN
) -> ConfigChange:
    """Save a new configuration version of an existing hospital; the code cannot change."""
    if config.code != hospital.code:
        raise ValidationError(_("The hospital code cannot be changed (it is part of every URL)."), code="code_changed")
    _check_deployment(config)
    with transaction.atomic():
        locked = Hospital.objects.select_for_update().get(pk=hospital.pk)
        data = config_to_data(config)
        diff = diff_configs(locked.config, data)
        if not diff:
            return ConfigChange(hospital=locked, created=False)
        locked.name = config.name
        version = _write_version(hospital=locked, data=data, diff=diff, source=source, author=author)
    return ConfigChange(hospital=locked, created=False, changes=diff, version=version)


def hospital_config_restore(*, version: ConfigVersion, author) -> ConfigChange:
    """Make an earlier version current again, as a new version (history is never rewritten)."""
    config = parse_config_data(version.config, filename=f"version {version.number}")
    return hospital_config_update(
        hospital=version.hospital, config=config, author=author, source=ConfigVersion.Source.RESTORE
    )

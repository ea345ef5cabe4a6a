"""Hospitals (the tenants), their versioned configuration and operator memberships."""

import json
from functools import lru_cache

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from hcm.hospitals.config import HospitalConfig, parse_config_data
from hcm.hospitals.roles import Role


@lru_cache(maxsize=256)
def _parsed_config(config_json: str) -> HospitalConfig:
    # Keyed by content: each version is parsed once per process, on the first request that sees it.
    return parse_config_data(json.loads(config_json), filename="database")


class Hospital(models.Model):
    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)
    config = models.JSONField(_("configuration"), default=dict, editable=False)
    config_version = models.PositiveIntegerField(_("configuration version"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("hospital")
        verbose_name_plural = _("hospitals")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def settings(self) -> HospitalConfig:
        """The validated configuration this row was loaded with (rows are loaded per request)."""
        cached = self.__dict__.get("_settings")
        if cached is None or cached[0] != self.config_version:
            cached = (self.config_version, _parsed_config(json.dumps(self.config, sort_keys=True)))
            self.__dict__["_settings"] = cached
        return cached[1]

    @property
    def sandbox_enabled(self) -> bool:
        """Its config asks for the demo shortcuts (sign-in without WeChat, WeChat Pay with a key
        that is in the source code) and this deployment allows them (HCM_ALLOW_SANDBOX_HOSPITALS)."""
        return self.settings.integrations.wechat.sandbox and settings.HCM_ALLOW_SANDBOX_HOSPITALS

    def has_feature(self, feature: str | None) -> bool:
        return feature is None or self.settings.has_feature(feature)


class ConfigVersion(models.Model):
    class Source(models.TextChoices):
        ONBOARD = "onboard", _("Onboarding command")
        ADMIN = "admin", _("Admin edit")
        RESTORE = "restore", _("Restore")

    hospital = models.ForeignKey(
        Hospital, on_delete=models.CASCADE, related_name="config_versions", verbose_name=_("hospital")
    )
    number = models.PositiveIntegerField(_("version"))
    config = models.JSONField(_("configuration"))
    diff = models.TextField(_("changes"), blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("author")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("configuration version")
        verbose_name_plural = _("configuration versions")
        ordering = ["hospital", "-number"]
        constraints = [models.UniqueConstraint(fields=["hospital", "number"], name="config_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.hospital.code} v{self.number}"


class Membership(models.Model):
    """An operator's role at one hospital; platform admins have no hospital and see all."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("operator")
    )
    hospital = models.ForeignKey(
        Hospital,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("hospital"),
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "hospital", "role"], name="membership_unique_role"),
            models.CheckConstraint(
                condition=Q(role=Role.PLATFORM_ADMIN, hospital__isnull=True)
                | (~Q(role=Role.PLATFORM_ADMIN) & Q(hospital__isnull=False)),
                name="membership_hospital_matches_role",
            ),
        ]

    def __str__(self) -> str:
        where = self.hospital.code if self.hospital_id else "*"
        return f"{self.user} @ {where}: {self.get_role_display()}"

"""Patients: the WeChat accounts that sign in, the hospital's patient records, and the bindings
between them (MISSION A1).

A WeChat account (one openid of one hospital's official account) binds up to the configured
number of patient records (the user and their family) and has one current person, whom
orders, appointments and reports are for.
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hcm.patients import identity
from hcm.patients.fields import EncryptedCharField


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")
    UNKNOWN = "unknown", _("Unknown")


class PatientRecord(models.Model):
    """A customer on the hospital's records; the ID number is encrypted and matched by keyed hash."""

    class Source(models.TextChoices):
        HOSPITAL = "hospital", _("Hospital records")
        PATIENT = "patient", _("Registered by the patient")

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="patient_records", verbose_name=_("hospital")
    )
    medical_card_number = models.CharField(_("medical card number"), max_length=32)
    name = models.CharField(_("full name"), max_length=50)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, default=Gender.UNKNOWN)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    id_number = EncryptedCharField(_("ID number"), max_length=18, blank=True, validators=[identity.validate_id_number])
    id_number_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    phone = models.CharField(_("phone"), max_length=11, blank=True, validators=[identity.validate_phone])
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.HOSPITAL)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("patient record")
        verbose_name_plural = _("patient records")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["hospital", "medical_card_number"], name="patient_record_unique_card"),
        ]
        permissions = [("reveal_patientrecord", _("Can see full names and ID numbers"))]

    def __str__(self) -> str:
        return f"{self.masked_name} {self.medical_card_number}"

    def save(self, *args, **kwargs):
        # The lookup digest is derived from the number it indexes; keeping it beside the
        # write that changes the number is what keeps the two from drifting apart.
        self.id_number = identity.normalize_id_number(self.id_number)
        self.id_number_hash = identity.lookup_hash(self.id_number) if self.id_number else ""
        if kwargs.get("update_fields") is not None and "id_number" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "id_number_hash"}
        super().save(*args, **kwargs)

    @property
    def masked_name(self) -> str:
        return identity.mask_name(self.name)

    @property
    def masked_id_number(self) -> str:
        return identity.mask_id_number(self.id_number) if self.id_number else ""

    @property
    def masked_phone(self) -> str:
        return identity.mask_phone(self.phone) if self.phone else ""

    @property
    def masked_card_number(self) -> str:
        return identity.mask_tail(self.medical_card_number)

    masked_name.fget.short_description = _("full name")
    masked_id_number.fget.short_description = _("ID number")
    masked_phone.fget.short_description = _("phone")


class WechatAccount(models.Model):
    """A WeChat user of one hospital's official account (an openid is per app, so per hospital).

    It is the principal of the patient API scope: `request.user` there is a WechatAccount.
    """

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="wechat_accounts", verbose_name=_("hospital")
    )
    openid = models.CharField(_("openid"), max_length=64)
    unionid = models.CharField(_("unionid"), max_length=64, blank=True)
    nickname = models.CharField(_("nickname"), max_length=64, blank=True)
    avatar_url = models.CharField(_("avatar"), max_length=500, blank=True)
    current_patient = models.ForeignKey(
        PatientRecord,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("current person"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_sign_in_at = models.DateTimeField(_("last sign-in"), null=True, blank=True)

    is_patient = True
    is_active = True
    is_authenticated = True
    is_anonymous = False

    class Meta:
        verbose_name = _("WeChat account")
        verbose_name_plural = _("WeChat accounts")
        constraints = [models.UniqueConstraint(fields=["hospital", "openid"], name="wechat_account_unique_openid")]

    def __str__(self) -> str:
        return self.nickname or self.openid


class Binding(models.Model):
    """A WeChat account may act for this patient record (themselves or a family member)."""

    class Relation(models.TextChoices):
        SELF = "self", _("Myself")
        CHILD = "child", _("Child")
        PARENT = "parent", _("Parent")
        SPOUSE = "spouse", _("Spouse")
        OTHER = "other", _("Other")

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    account = models.ForeignKey(
        WechatAccount, on_delete=models.CASCADE, related_name="bindings", verbose_name=_("WeChat account")
    )
    patient = models.ForeignKey(
        PatientRecord, on_delete=models.CASCADE, related_name="bindings", verbose_name=_("patient record")
    )
    relation = models.CharField(_("relation"), max_length=16, choices=Relation.choices, default=Relation.SELF)
    created_at = models.DateTimeField(_("bound at"), auto_now_add=True)

    class Meta:
        verbose_name = _("binding")
        verbose_name_plural = _("bindings")
        ordering = ["created_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["account", "patient"], name="binding_unique_person")]

    def __str__(self) -> str:
        return f"{self.account} → {self.patient}"


def _token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class PatientTokenQuerySet(models.QuerySet):
    def for_key(self, key: str):
        return self.filter(digest=_token_digest(key), expires_at__gt=timezone.now())


class PatientToken(models.Model):
    """An API token of one WeChat account; only its SHA-256 digest is stored."""

    digest = models.CharField(max_length=64, primary_key=True)
    account = models.ForeignKey(WechatAccount, on_delete=models.CASCADE, related_name="tokens")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    objects = PatientTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("patient token")
        verbose_name_plural = _("patient tokens")

    def __str__(self) -> str:
        return f"{self.account_id}:{self.digest[:8]}"

    @classmethod
    def issue(cls, account: WechatAccount) -> tuple["PatientToken", str]:
        """A new token for `account`; the key is returned once and never stored."""
        key = secrets.token_urlsafe(32)
        lifetime = timedelta(seconds=settings.HCM_PATIENT_TOKEN_TTL)
        token = cls.objects.create(digest=_token_digest(key), account=account, expires_at=timezone.now() + lifetime)
        return token, key

"""Writes of patients: signing in, binding records, switching the current person, unbinding."""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from hcm.hospitals.models import Hospital
from hcm.lowcode.errors import DomainError
from hcm.lowcode.numbers import random_digits
from hcm.patients import identity
from hcm.patients.models import Binding, PatientRecord, PatientToken, WechatAccount
from hcm.patients.wechat import WechatIdentity, identity_from_code

# What the patient types for each identifying field the hospital's config may require.
IDENTITY_LABELS = {
    "name": gettext_lazy("full name"),
    "id_number": gettext_lazy("ID number"),
    "phone": gettext_lazy("phone"),
    "medical_card_number": gettext_lazy("medical card number"),
}


@dataclass(frozen=True)
class SignIn:
    account: WechatAccount
    token: PatientToken
    key: str  # shown once, to the client; only its digest is stored


class BindingRefused(DomainError):
    code = "binding_refused"
    status = 409


# --- Signing in -----------------------------------------------------------------------


def _account_sign_in(*, hospital: Hospital, who: WechatIdentity) -> SignIn:
    with transaction.atomic():
        account, _created = WechatAccount.objects.select_for_update().get_or_create(
            hospital=hospital, openid=who.openid
        )
        for field in ("unionid", "nickname", "avatar_url"):
            if getattr(who, field):
                setattr(account, field, getattr(who, field))
        account.last_sign_in_at = timezone.now()
        account.save()
        token, key = PatientToken.issue(account)
    return SignIn(account=account, token=token, key=key)


def wechat_sign_in(*, hospital: Hospital, code: str) -> SignIn:
    """Exchange a WeChat authorisation code for an API token of this hospital's patient scope."""
    who = identity_from_code(hospital, code=code)  # network: outside any transaction
    return _account_sign_in(hospital=hospital, who=who)


def sandbox_sign_in(*, hospital: Hospital, openid: str, nickname: str = "") -> SignIn:
    """A sign-in that skips WeChat, for demo hospitals whose config says `sandbox: true` only (and
    only where the deployment allows sandbox hospitals)."""
    if not hospital.sandbox_enabled:
        raise DomainError(
            _("The development sign-in is not available at this hospital."), code="sandbox_disabled", status=403
        )
    return _account_sign_in(hospital=hospital, who=WechatIdentity(openid=openid, nickname=nickname))


def sign_out(*, token: PatientToken) -> None:
    """Revoke the token the request was made with."""
    PatientToken.objects.filter(pk=token.pk).delete()


# --- Binding ----------------------------------------------------------------------------


def _lookup(hospital: Hospital, details: dict, fields: tuple[str, ...]):
    filters = {"hospital": hospital}
    for field in fields:
        value = details[field].strip()
        if field == "id_number":
            filters["id_number_hash"] = identity.lookup_hash(value)
        else:
            filters[field] = value
    return PatientRecord.objects.filter(**filters).order_by("pk")


def _no_match(fields: tuple[str, ...]) -> BindingRefused:
    # Names every field the patient typed, never which one differed: saying "the name does not
    # match" would tell a stranger that the ID number they tried belongs to someone here.
    labels = "、".join(str(IDENTITY_LABELS[f]) for f in fields)
    return BindingRefused(
        _(
            "No patient record matches the %(fields)s you entered. Please check them; if you have never "
            "visited this hospital, register at the hospital first."
        )
        % {"fields": labels},
        code="binding_no_match",
        fields={f: [_("Please check this value.")] for f in fields},
        status=400,
    )


def _register(hospital: Hospital, details: dict) -> PatientRecord:
    """A record created from the patient's own details, where the hospital allows it."""
    for _attempt in range(5):
        card = "W" + random_digits(11)
        if not PatientRecord.objects.filter(hospital=hospital, medical_card_number=card).exists():
            break
    return PatientRecord.objects.create(
        hospital=hospital,
        medical_card_number=card,
        name=details["name"].strip(),
        id_number=details["id_number"],
        phone=details.get("phone", "").strip(),
        source=PatientRecord.Source.PATIENT,
    )


def binding_create(*, account: WechatAccount, details: dict, relation: str = Binding.Relation.SELF) -> Binding:
    """Bind the one record matching the config's identifying fields; the first becomes current."""
    hospital = account.hospital
    rules = hospital.settings.binding
    with transaction.atomic():
        locked = WechatAccount.objects.select_for_update().get(pk=account.pk)
        if Binding.objects.filter(account=locked).count() >= rules.max_bound_people:
            raise BindingRefused(
                _("You can bind at most %(count)d people; unbind one first.") % {"count": rules.max_bound_people},
                code="binding_limit",
            )
        matches = list(_lookup(hospital, details, rules.identify_by)[:2])
        if len(matches) > 1:
            raise BindingRefused(
                _("Several patient records match these details; please ask the hospital's service desk."),
                code="binding_ambiguous",
            )
        if matches:
            record = matches[0]
        elif rules.require_existing_record or not {"name", "id_number"} <= details.keys():
            raise _no_match(rules.identify_by)
        else:
            record = _register(hospital, details)
        if Binding.objects.filter(account=locked, patient=record).exists():
            raise BindingRefused(_("You have already bound this person."), code="already_bound")
        try:
            with transaction.atomic():
                binding = Binding.objects.create(hospital=hospital, account=locked, patient=record, relation=relation)
        except IntegrityError:
            raise BindingRefused(_("You have already bound this person."), code="already_bound") from None
        if locked.current_patient_id is None:
            locked.current_patient = record
            locked.save(update_fields=["current_patient"])
    account.current_patient_id = locked.current_patient_id
    return binding


def binding_switch(*, account: WechatAccount, binding: Binding) -> WechatAccount:
    """Make the binding's person the one orders, appointments and reports are for."""
    with transaction.atomic():
        locked = WechatAccount.objects.select_for_update().get(pk=account.pk)
        if binding.account_id != locked.pk:
            raise DomainError(_("The requested item does not exist."), code="not_found", status=404)
        locked.current_patient_id = binding.patient_id
        locked.save(update_fields=["current_patient"])
    account.current_patient_id = locked.current_patient_id
    return locked


def binding_delete(*, account: WechatAccount, binding: Binding) -> None:
    """Unbind; if it was the current person, the earliest remaining binding becomes current."""
    with transaction.atomic():
        locked = WechatAccount.objects.select_for_update().get(pk=account.pk)
        deleted, _rows = Binding.objects.filter(pk=binding.pk, account=locked).delete()
        if not deleted:
            raise DomainError(_("The requested item does not exist."), code="not_found", status=404)
        if locked.current_patient_id == binding.patient_id:
            remaining = Binding.objects.filter(account=locked).order_by("created_at", "pk").first()
            locked.current_patient_id = remaining.patient_id if remaining else None
            locked.save(update_fields=["current_patient"])
    account.current_patient_id = locked.current_patient_id

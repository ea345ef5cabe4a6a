"""Reads of patients that other apps use: the current person of a WeChat account."""

from django.utils.translation import gettext as _

from hcm.lowcode.errors import DomainError
from hcm.patients.models import Binding, PatientRecord, WechatAccount


class BindingRequired(DomainError):
    """The operation needs a bound person; the client offers binding (code `binding_required`)."""

    code = "binding_required"
    status = 409


def current_patient(account: WechatAccount) -> PatientRecord | None:
    """The person the account currently acts for (orders, appointments and reports use it)."""
    if account.current_patient_id is None:
        return None
    return PatientRecord.objects.filter(pk=account.current_patient_id, bindings__account=account).first()


def require_current_patient(account: WechatAccount) -> PatientRecord:
    patient = current_patient(account)
    if patient is None:
        raise BindingRequired(_("Please bind your patient record first."))
    return patient


def account_bindings(account: WechatAccount):
    """The account's bindings with their patient records, in binding order."""
    return Binding.objects.filter(account=account).select_related("patient").order_by("created_at", "pk")


def is_bound(account: WechatAccount, patient: PatientRecord) -> bool:
    return Binding.objects.filter(account=account, patient=patient).exists()

"""What the patient API says about a card: a summary (never the full name or number) and its ledger."""

from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers

from hcm.lowcode.serializers import ModelSerializer
from hcm.patients.models import PatientRecord
from hcm.payments.api import PaymentSerializer, WechatJsapiSerializer
from hcm.wallet.models import MONEY, BalanceAccount, LedgerEntry, Recharge
from hcm.wallet.selectors import ZERO, account_for_patient
from hcm.wallet.services import password_policy, remaining_tries


class PasswordPolicySerializer(serializers.Serializer):
    length = serializers.IntegerField()
    digits_only = serializers.BooleanField()


class WalletSerializer(serializers.Serializer):
    has_card = serializers.BooleanField()
    holder = serializers.CharField(help_text="The holder's name, masked (尤**).")
    card_number = serializers.CharField(help_text="The card number, masked (****1234); empty without a card.")
    balance = serializers.DecimalField(**MONEY, help_text='A string such as "12.34".')
    locked = serializers.BooleanField(help_text="Too many wrong payment passwords; see locked_until.")
    locked_until = serializers.DateTimeField(allow_null=True)
    remaining_tries = serializers.IntegerField(help_text="Wrong payment passwords allowed before the card locks.")
    password_policy = PasswordPolicySerializer()


def wallet_summary(*, hospital, patient: PatientRecord, account: BalanceAccount | None) -> dict:
    """The body of GET wallet/ for `patient` and their card (None: no card yet)."""
    policy = password_policy(hospital)
    now = timezone.now()
    locked = account is not None and account.is_locked(now)
    return WalletSerializer(
        {
            "has_card": account is not None,
            "holder": patient.masked_name,
            "card_number": account.masked_card_number if account else "",
            "balance": account.balance if account else ZERO,
            "locked": locked,
            "locked_until": account.locked_until if locked else None,
            "remaining_tries": remaining_tries(account, policy, now) if account else policy.lock_after_failures,
            "password_policy": {"length": policy.length, "digits_only": policy.digits_only},
        }
    ).data


def my_page_balance(account, patient: PatientRecord | None) -> dict | None:
    """The balance section of the my page: the summary of GET wallet/ (None where the hospital has
    no balance card or nobody is bound)."""
    if patient is None or not account.hospital.has_feature("balance"):
        return None
    return wallet_summary(hospital=account.hospital, patient=patient, account=account_for_patient(patient))


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(max_length=32, trim_whitespace=False)
    new_password = serializers.CharField(max_length=32, trim_whitespace=False)
    confirm_password = serializers.CharField(max_length=32, trim_whitespace=False)


class LedgerEntrySerializer(ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "kind_label", "amount", "balance_after", "reference", "created_at"]
        read_only_fields = fields


class RechargeOptionsSerializer(serializers.Serializer):
    wallet = WalletSerializer()
    presets = serializers.ListField(child=serializers.DecimalField(**MONEY))
    min = serializers.DecimalField(**MONEY)
    max = serializers.DecimalField(**MONEY)
    available = serializers.BooleanField(help_text="Whether WeChat Pay, which recharges use, is available now.")
    notice = serializers.CharField(help_text="Why not, or the notice shown beside WeChat Pay.")


def recharge_options(*, hospital, patient: PatientRecord, account: BalanceAccount | None) -> dict:
    """The body of GET recharge/: the card's summary, the amounts allowed, and WeChat Pay's state."""
    rules, payments = hospital.settings.recharge, hospital.settings.payments
    available = payments.method_available("wechat")
    return RechargeOptionsSerializer(
        {
            "wallet": wallet_summary(hospital=hospital, patient=patient, account=account),
            "presets": list(rules.presets),
            "min": rules.min,
            "max": rules.max,
            "available": available,
            "notice": payments.method_notice("wechat")
            if "wechat" in payments.methods
            else _("Online recharge is not available; please top up at the hospital."),
        }
    ).data


class RechargeInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(
        **MONEY, min_value=Decimal("0.01"), help_text='A preset or a typed amount, "100.00".'
    )


class RechargeSerializer(ModelSerializer):
    state_label = serializers.CharField(source="get_state_display", read_only=True)

    class Meta:
        model = Recharge
        fields = ["id", "number", "amount", "state", "state_label", "credited_at", "created_at"]
        read_only_fields = fields


class RechargeStartSerializer(serializers.Serializer):
    recharge = RechargeSerializer()
    payment = PaymentSerializer()
    wechat = WechatJsapiSerializer(allow_null=True, help_text="WeixinJSBridge parameters.")

"""What the patient and staff APIs say about the distribution programme. Names and phones of
other people are always masked; amounts are strings such as "12.34"."""

from decimal import Decimal

from django.utils.translation import gettext as _
from rest_framework import serializers

from hcm.distribution.links import INVITE_TARGETS
from hcm.distribution.models import MONEY, Application, Commission, CommissionEntry, Withdrawal
from hcm.distribution.selectors import INCOME_TYPES
from hcm.lowcode.serializers import ModelSerializer
from hcm.patients.identity import validate_phone


def _phone(value: str) -> str:
    value = (value or "").strip()
    try:
        validate_phone(value)
    except Exception as error:  # Django's ValidationError: one message
        raise serializers.ValidationError(error.messages) from None
    return value


class SmsCodeInputSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=11)

    def validate_phone(self, value: str) -> str:
        return _phone(value)


class SmsCodeSentSerializer(serializers.Serializer):
    expires_in = serializers.IntegerField(help_text="Seconds the code stays valid.")
    resend_after = serializers.IntegerField(help_text="Seconds before another code may be asked for.")


class ApplyInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=50)
    phone = serializers.CharField(max_length=11)
    code = serializers.RegexField(r"^\d{6}$", help_text="The 6-digit code texted to the phone.")
    invite_code = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")
    agreement_accepted = serializers.BooleanField(help_text="The applicant accepted the distributor agreement.")

    def validate_phone(self, value: str) -> str:
        return _phone(value)


class ApplicationSerializer(ModelSerializer):
    state_label = serializers.CharField(source="get_state_display")

    class Meta:
        model = Application
        fields = [
            "id",
            "masked_name",
            "masked_phone",
            "invite_code",
            "state",
            "state_label",
            "reject_reason",
            "created_at",
            "reviewed_at",
        ]


class ApplicationRulesSerializer(serializers.Serializer):
    review_applications = serializers.BooleanField()
    invite_code_required = serializers.BooleanField()


class ApplicationStatusSerializer(serializers.Serializer):
    is_distributor = serializers.BooleanField()
    application = ApplicationSerializer(allow_null=True, help_text="The latest application, if any.")
    rules = ApplicationRulesSerializer()


class LinkSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="Opens the patient app with the code.")
    qr = serializers.CharField(help_text="A PNG of the QR code of `url` (no sign-in needed).")
    message = serializers.CharField(help_text="A text to share with the link.")


class DistributorSerializer(serializers.Serializer):
    name = serializers.CharField(source="masked_name")
    invite_code = serializers.CharField()
    approved_at = serializers.DateTimeField()
    inviter = serializers.CharField(source="inviter.masked_name", default="", help_text="Who invited me, masked.")


class SummarySerializer(serializers.Serializer):
    withdrawable = serializers.DecimalField(**MONEY)
    balance = serializers.DecimalField(
        **MONEY, help_text="Below zero only after a clawback (debt repaid by later settlements)."
    )
    pending = serializers.DecimalField(**MONEY, help_text="Commission waiting to settle.")
    total_earned = serializers.DecimalField(
        **MONEY, help_text="Pending and settled; cancelled and clawed back excluded."
    )
    today = serializers.DecimalField(**MONEY)
    held = serializers.DecimalField(**MONEY, help_text="Held by withdrawals not paid yet.")
    withdrawn = serializers.DecimalField(**MONEY, help_text="Paid out so far (after fees).")


class IncomeTotalsSerializer(serializers.Serializer):
    distribution = serializers.DecimalField(**MONEY)
    team = serializers.DecimalField(**MONEY)
    other = serializers.DecimalField(**MONEY)


class WithdrawalRulesSerializer(serializers.Serializer):
    review = serializers.BooleanField()
    min = serializers.DecimalField(**MONEY)
    max_per_day = serializers.DecimalField(**MONEY)
    fee_rate = serializers.DecimalField(max_digits=5, decimal_places=4)
    left_today = serializers.DecimalField(**MONEY)


class OfficialAccountQrSerializer(serializers.Serializer):
    distributor = serializers.URLField(allow_null=True, help_text="Null when WeChat did not answer.")
    member = serializers.URLField(allow_null=True, help_text="Null when WeChat did not answer.")


class CentreSerializer(serializers.Serializer):
    distributor = DistributorSerializer()
    summary = SummarySerializer()
    income = IncomeTotalsSerializer()
    withdrawal_rules = WithdrawalRulesSerializer()
    invite_distributor = LinkSerializer()
    invite_member = LinkSerializer()
    official_account_qr = OfficialAccountQrSerializer(
        allow_null=True,
        help_text=(
            "Images of the official account's QR codes of both invitations (scanning also offers to follow "
            "the account); null when the hospital does not use them. The `qr` PNGs work in any case."
        ),
    )


class ReferralInputSerializer(serializers.Serializer):
    invite_code = serializers.CharField(max_length=16)


class ReferralSerializer(serializers.Serializer):
    attributed = serializers.BooleanField(help_text="False when the code is the account's own.")
    distributor = serializers.CharField(help_text="Who the account is attributed to (first invitation), masked.")


class ShareSerializer(serializers.Serializer):
    product = serializers.IntegerField()
    name = serializers.CharField()
    price = serializers.DecimalField(**MONEY)
    commission_eligible = serializers.BooleanField()
    estimated_commission = serializers.DecimalField(**MONEY, help_text="Direct commission on one at today's price.")
    link = LinkSerializer()


class InvitationSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=INVITE_TARGETS)
    nickname = serializers.CharField()
    avatar_url = serializers.CharField()
    name = serializers.CharField(help_text="Distributors only: the name, masked.")
    joined_at = serializers.DateTimeField()
    orders = serializers.IntegerField(help_text="Paid orders so far.")


class CustomerSerializer(serializers.Serializer):
    nickname = serializers.CharField()
    avatar_url = serializers.CharField()
    orders = serializers.IntegerField(help_text="Paid orders placed through my shares.")
    amount = serializers.DecimalField(**MONEY)
    last_ordered_at = serializers.DateTimeField()


class DistributionOrderSerializer(serializers.Serializer):
    order_number = serializers.CharField(source="order.number")
    order_state = serializers.CharField(source="order.state")
    order_state_label = serializers.CharField(source="order.get_state_display")
    total = serializers.DecimalField(source="order.total", **MONEY)
    person = serializers.CharField(source="order.patient.masked_name")
    source = serializers.CharField()
    commission = serializers.DecimalField(**MONEY, allow_null=True)
    commission_state = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class IncomeLineSerializer(ModelSerializer):
    type = serializers.SerializerMethodField(help_text="distribution, team or other")
    kind_label = serializers.CharField(source="get_kind_display")
    state_label = serializers.CharField(source="get_state_display")
    order_number = serializers.CharField(source="order.number", default="")
    source_name = serializers.CharField(source="source.masked_name", default="")

    class Meta:
        model = Commission
        fields = [
            "id",
            "type",
            "kind",
            "kind_label",
            "order_number",
            "source_name",
            "amount",
            "state",
            "state_label",
            "created_at",
            "settled_at",
        ]

    def get_type(self, commission: Commission) -> str:
        return next(name for name, kind in INCOME_TYPES.items() if kind == commission.kind)


class EntrySerializer(ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display")

    class Meta:
        model = CommissionEntry
        fields = ["id", "kind", "kind_label", "amount", "balance_after", "reference", "created_at"]


class WithdrawInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(**MONEY, required=False, min_value=Decimal("0.01"))
    all = serializers.BooleanField(default=False, help_text="Withdraw everything today's limit allows.")

    def validate(self, attrs):
        if not attrs.get("all") and attrs.get("amount") is None:
            raise serializers.ValidationError({"amount": [serializers.Field.default_error_messages["required"]]})
        return attrs


class WithdrawalSerializer(ModelSerializer):
    state_label = serializers.CharField(source="get_state_display")

    class Meta:
        model = Withdrawal
        fields = [
            "id",
            "number",
            "amount",
            "fee",
            "net_amount",
            "state",
            "state_label",
            "reject_reason",
            "transfer_method",
            "transfer_reference",
            "reviewed_at",
            "paid_at",
            "created_at",
        ]


class ReportInputSerializer(serializers.Serializer):
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)

    def validate(self, attrs):
        start, end = attrs.get("date_from"), attrs.get("date_to")
        if start and end and start > end:
            raise serializers.ValidationError({"date_to": [_("The end date cannot be before the start date.")]})
        return attrs


class ReportSerializer(serializers.Serializer):
    date_from = serializers.DateField(allow_null=True)
    date_to = serializers.DateField(allow_null=True)
    distributors = serializers.IntegerField()
    earned = serializers.DecimalField(**MONEY, help_text="Commissions created in the period, less cancelled ones.")
    earned_by_type = IncomeTotalsSerializer()
    cancelled = serializers.DecimalField(**MONEY)
    settled = serializers.DecimalField(**MONEY, help_text="Credited to accounts in the period.")
    clawed_back = serializers.DecimalField(**MONEY)
    withdrawn = serializers.DecimalField(**MONEY, help_text="Withdrawals paid in the period (gross).")
    withdrawal_fees = serializers.DecimalField(**MONEY)
    paid_out = serializers.DecimalField(**MONEY)
    withdrawals_paid = serializers.IntegerField()
    pending_now = serializers.DecimalField(**MONEY)
    held_now = serializers.DecimalField(**MONEY)
    balances_now = serializers.DecimalField(**MONEY)

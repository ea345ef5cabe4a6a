"""Low-code declarations of the distribution programme: review screens for applications and
withdrawals (their transitions as buttons and staff API operations), read-only distributors,
attribution, commissions and ledgers exported for finance. Patients use api.py."""

from hcm.distribution.admin import DistributorAdminMixin, ExportOnlyResourceMixin, ReviewAdminMixin
from hcm.distribution.models import (
    Application,
    Commission,
    CommissionAccount,
    CommissionEntry,
    Distributor,
    OrderAttribution,
    Referral,
    Withdrawal,
)
from hcm.lowcode.admin import ReadOnlyAdminMixin
from hcm.lowcode.declarations import Resource, Scope, register

FEATURE = "distribution"


@register
class ApplicationResource(Resource):
    model = Application
    slug = "distributor-applications"
    feature = FEATURE
    list_display = ["masked_name", "masked_phone", "invite_code", "inviter", "state", "created_at", "hospital"]
    list_filter = ["state", "created_at", "hospital"]
    search_fields = ["phone", "name", "invite_code"]
    select_related = ["inviter"]
    import_fields = ["name", "phone", "invite_code", "state", "reject_reason", "reviewed_at", "created_at"]
    made_by_services = True
    admin_mixins = [ReviewAdminMixin]
    resource_mixins = [ExportOnlyResourceMixin]
    staff = Scope(
        fields=[
            "id",
            "name",
            "phone",
            "invite_code",
            "inviter",
            "state",
            "reject_reason",
            "reviewed_by",
            "reviewed_at",
            "agreement_accepted_at",
            "created_at",
        ],
        transitions=True,
        filters=["state"],
        search=["phone", "name"],
    )


@register
class DistributorResource(Resource):
    model = Distributor
    feature = FEATURE
    list_display = ["masked_name", "masked_phone", "invite_code", "inviter", "approved_at", "hospital"]
    list_filter = ["approved_at", "hospital"]
    search_fields = ["invite_code", "phone", "name"]
    select_related = ["inviter"]
    import_fields = ["name", "phone", "invite_code", "inviter", "approved_at"]
    import_id_fields = ["hospital", "invite_code"]
    made_by_services = True  # by approving an application
    admin_mixins = [DistributorAdminMixin]
    resource_mixins = [ExportOnlyResourceMixin]
    staff = Scope(
        fields=["id", "name", "phone", "invite_code", "inviter", "account", "approved_at"],
        filters=["inviter", "invite_code"],
        search=["phone", "name", "invite_code"],
    )


@register
class ReferralResource(Resource):
    model = Referral
    feature = FEATURE
    list_display = ["account", "distributor", "created_at", "hospital"]
    list_filter = ["created_at", "hospital"]
    search_fields = ["distributor__invite_code"]
    select_related = ["account", "distributor"]
    admin_mixins = [ReadOnlyAdminMixin]
    staff = Scope(fields=["id", "account", "distributor", "created_at"], filters=["distributor"])


@register
class OrderAttributionResource(Resource):
    model = OrderAttribution
    slug = "distribution-orders"
    feature = FEATURE
    list_display = ["order", "distributor", "source", "created_at", "hospital"]
    list_filter = ["source", "created_at", "hospital"]
    search_fields = ["order__number", "distributor__invite_code"]
    select_related = ["order", "distributor"]
    import_fields = ["order", "distributor", "source", "created_at"]
    admin_mixins = [ReadOnlyAdminMixin]
    resource_mixins = [ExportOnlyResourceMixin]
    staff = Scope(fields=["id", "order", "distributor", "source", "created_at"], filters=["distributor", "source"])


@register
class CommissionResource(Resource):
    model = Commission
    feature = FEATURE
    list_display = [
        "created_at",
        "distributor",
        "kind",
        "order",
        "base_amount",
        "rate",
        "amount",
        "state",
        "settle_due_at",
    ]
    list_filter = ["kind", "state", "created_at", "settled_at", "hospital"]
    search_fields = ["order__number", "distributor__invite_code"]
    select_related = ["distributor", "order"]
    import_fields = [
        "id",
        "distributor",
        "kind",
        "order",
        "base_amount",
        "rate",
        "amount",
        "state",
        "settle_due_at",
        "settled_at",
        "cancelled_at",
        "clawed_back_at",
        "created_at",
    ]
    admin_mixins = [ReadOnlyAdminMixin]
    resource_mixins = [ExportOnlyResourceMixin]
    staff = Scope(
        fields=[
            "id",
            "distributor",
            "kind",
            "order",
            "source",
            "base_amount",
            "rate",
            "amount",
            "state",
            "settle_due_at",
            "settled_at",
            "cancelled_at",
            "clawed_back_at",
            "created_at",
        ],
        filters=["distributor", "kind", "state", "order"],
    )


@register
class CommissionAccountResource(Resource):
    model = CommissionAccount
    feature = FEATURE
    list_display = ["distributor", "balance", "updated_at", "hospital"]
    list_filter = ["hospital"]
    search_fields = ["distributor__invite_code", "distributor__phone"]
    select_related = ["distributor"]
    import_fields = ["distributor", "balance", "updated_at"]
    admin_mixins = [ReadOnlyAdminMixin]
    resource_mixins = [ExportOnlyResourceMixin]
    staff = Scope(fields=["id", "distributor", "balance", "updated_at"], filters=["distributor"])


@register
class CommissionEntryResource(Resource):
    model = CommissionEntry
    slug = "commission-entries"
    feature = FEATURE
    list_display = ["created_at", "account", "kind", "amount", "balance_after", "reference", "operator"]
    list_filter = ["kind", "created_at", "hospital"]
    search_fields = ["reference", "account__distributor__invite_code"]
    ordering = ["-created_at", "-pk"]
    select_related = ["account__distributor", "operator"]
    import_fields = ["id", "created_at", "account", "kind", "amount", "balance_after", "reference", "note"]
    admin_mixins = [ReadOnlyAdminMixin]
    resource_mixins = [ExportOnlyResourceMixin]
    staff = Scope(
        fields=["id", "account", "kind", "amount", "balance_after", "reference", "note", "operator", "created_at"],
        filters=["kind", "account"],
    )


@register
class WithdrawalResource(Resource):
    model = Withdrawal
    feature = FEATURE
    list_display = [
        "number",
        "distributor",
        "amount",
        "fee",
        "net_amount",
        "state",
        "created_at",
        "paid_at",
        "hospital",
    ]
    list_filter = ["state", "transfer_method", "created_at", "paid_at", "hospital"]
    search_fields = ["number", "distributor__invite_code", "distributor__phone", "transfer_reference"]
    select_related = ["distributor"]
    import_fields = [
        "number",
        "distributor",
        "amount",
        "fee",
        "net_amount",
        "state",
        "reject_reason",
        "transfer_method",
        "transfer_reference",
        "reviewed_at",
        "paid_at",
        "created_at",
    ]
    import_id_fields = ["number"]
    made_by_services = True
    admin_mixins = [ReviewAdminMixin]
    resource_mixins = [ExportOnlyResourceMixin]
    staff = Scope(
        fields=[
            "id",
            "number",
            "distributor",
            "amount",
            "fee",
            "net_amount",
            "state",
            "reject_reason",
            "reviewed_by",
            "reviewed_at",
            "transfer_method",
            "transfer_reference",
            "transfer_error",
            "paid_by",
            "paid_at",
            "created_at",
        ],
        transitions=True,
        filters=["state", "distributor"],
        search=["number"],
    )

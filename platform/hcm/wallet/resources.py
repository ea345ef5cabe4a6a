"""Low-code declarations of balance cards and their ledger: masked lists, read-only ledgers,
export for finance, staff API read-only. Patients use the hand-written endpoints in api.py."""

from hcm.lowcode.admin import ReadOnlyAdminMixin
from hcm.lowcode.declarations import Resource, Scope, register
from hcm.wallet.admin import BalanceAccountAdminMixin, ExportOnlyAdminMixin, ExportOnlyResourceMixin
from hcm.wallet.models import BalanceAccount, LedgerEntry, Recharge


@register
class BalanceAccountResource(Resource):
    model = BalanceAccount
    feature = "balance"
    list_display = ["masked_card_number", "masked_holder", "balance", "locked_until", "created_at", "hospital"]
    list_filter = ["hospital"]
    search_fields = ["card_number", "patient__medical_card_number"]
    select_related = ["patient", "hospital"]
    autocomplete_fields = ["patient"]
    import_id_fields = ["hospital", "card_number"]  # how ledger exports name a card
    admin_mixins = [BalanceAccountAdminMixin]
    staff = Scope(
        fields=[
            "id",
            "patient",
            "masked_holder",
            "card_number",
            "balance",
            "failed_attempts",
            "locked_until",
            "created_at",
        ],
        filters=["patient", "card_number"],
        search=["card_number"],
    )


@register
class LedgerEntryResource(Resource):
    model = LedgerEntry
    feature = "balance"
    list_display = ["created_at", "account", "kind", "amount", "balance_after", "reference", "operator"]
    list_filter = ["kind", "created_at"]
    search_fields = ["account__card_number", "reference"]
    ordering = ["-created_at", "-pk"]
    select_related = ["account", "operator"]
    import_fields = ["id", "created_at", "account", "kind", "amount", "balance_after", "reference", "note", "operator"]
    admin_mixins = [ExportOnlyAdminMixin, ReadOnlyAdminMixin]
    resource_mixins = [ExportOnlyResourceMixin]
    staff = Scope(
        fields=["id", "account", "kind", "amount", "balance_after", "reference", "note", "operator", "created_at"],
        filters=["kind", "account"],
    )


@register
class RechargeResource(Resource):
    model = Recharge
    feature = "recharge"
    list_display = ["number", "masked_holder", "amount", "state", "credited_at", "created_at", "hospital"]
    list_filter = ["state", "created_at", "hospital"]
    search_fields = ["number", "card__card_number"]
    select_related = ["card__patient"]
    import_fields = ["number", "card", "amount", "state", "credited_at", "created_at"]
    import_id_fields = ["number"]
    admin_mixins = [ExportOnlyAdminMixin, ReadOnlyAdminMixin]
    resource_mixins = [ExportOnlyResourceMixin]
    staff = Scope(
        fields=["id", "number", "card", "masked_holder", "amount", "state", "credited_at", "created_at"],
        filters=["state", "card"],
        search=["number"],
    )
    patient = Scope(
        fields=["id", "number", "amount", "state", "credited_at", "created_at"],
        owner="account",
        filters=["state"],
    )

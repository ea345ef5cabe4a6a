"""Payments and refunds in the admin and the staff API (read-only: money moves through the
services, started by the payables' own transitions, e.g. an order's confirm-payment)."""

from hcm.lowcode.admin import ReadOnlyAdminMixin
from hcm.lowcode.declarations import Resource, Scope, register
from hcm.payments.models import Payment, Refund

_PAYMENT_FIELDS = [
    "id",
    "description",
    "method",
    "amount",
    "refunded_amount",
    "state",
    "out_trade_no",
    "transaction_id",
    "account",
    "paid_at",
    "collected_by",
    "collection_note",
    "created_at",
]


@register
class PaymentResource(Resource):
    model = Payment
    list_display = [
        "out_trade_no",
        "description",
        "method",
        "amount",
        "refunded_amount",
        "state",
        "paid_at",
        "hospital",
    ]
    list_filter = ["state", "method", "created_at", "paid_at", "hospital"]
    search_fields = ["out_trade_no", "transaction_id", "description"]
    select_related = ["account", "collected_by"]
    import_fields = [f for f in _PAYMENT_FIELDS if f not in ("id", "account", "collected_by")]
    import_id_fields = ["out_trade_no"]
    admin_mixins = [ReadOnlyAdminMixin]
    staff = Scope(fields=_PAYMENT_FIELDS, filters=["state", "method", "account"], search=["out_trade_no"])


@register
class RefundResource(Resource):
    model = Refund
    list_display = ["out_refund_no", "payment", "amount", "state", "reason", "requested_by", "created_at", "hospital"]
    list_filter = ["state", "payment__method", "created_at", "hospital"]
    search_fields = ["out_refund_no", "payment__out_trade_no", "refund_id"]
    select_related = ["payment", "requested_by"]
    import_fields = ["out_refund_no", "amount", "state", "reason", "refund_id", "failure", "created_at", "finished_at"]
    import_id_fields = ["out_refund_no"]
    admin_mixins = [ReadOnlyAdminMixin]
    staff = Scope(
        fields=["id", "payment", "amount", "state", "reason", "out_refund_no", "refund_id", "failure", "created_at"],
        filters=["state", "payment"],
    )

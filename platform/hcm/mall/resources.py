"""Orders in the admin (cashier's confirm-payment and refund approval as buttons), the staff
API, and "my orders" in the patient API."""

from unfold.admin import TabularInline

from hcm.lowcode.admin import ReadOnlyAdminMixin
from hcm.lowcode.declarations import Resource, Scope, register
from hcm.mall.models import CartItem, Order, OrderItem

_ORDER_FIELDS = [
    "id",
    "number",
    "state",
    "total",
    "payment_method",
    "patient",
    "patient.masked_name",
    "lines",
    "expires_at",
    "paid_at",
    "completed_at",
    "cancelled_at",
    "cancel_reason",
    "refund_reason",
    "created_at",
]


class OrderItemInline(TabularInline):
    model = OrderItem
    extra = 0
    fields = ["product", "name", "unit_price", "quantity", "amount"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class OrderAdminMixin:
    inlines = [OrderItemInline]


@register
class OrderResource(Resource):
    model = Order
    feature = "mall"
    list_display = ["number", "patient", "total", "state", "payment_method", "paid_at", "created_at", "hospital"]
    list_filter = ["state", "payment_method", "created_at", "paid_at", "hospital"]
    search_fields = ["number", "patient__medical_card_number", "patient__name"]
    select_related = ["patient"]
    prefetch_related = ["items"]
    readonly_fields = ["account", "patient"]
    import_fields = ["number", "patient", "total", "state", "payment_method", "paid_at", "created_at"]
    import_id_fields = ["number"]
    made_by_services = True  # by checkout (an order added here would have no number, lines or total)
    admin_mixins = [OrderAdminMixin]
    staff = Scope(
        fields=[*_ORDER_FIELDS, "account"],
        list_fields=[f for f in _ORDER_FIELDS if f != "lines"],
        transitions=True,
        filters=["state", "payment_method", "patient"],
        search=["number"],
    )
    patient = Scope(
        fields=_ORDER_FIELDS,
        transitions=True,
        filters=["state"],
        owner="account",
    )


@register
class OrderItemResource(Resource):
    model = OrderItem
    feature = "mall"
    list_display = ["order", "name", "unit_price", "quantity", "amount", "hospital"]
    search_fields = ["order__number", "name"]
    select_related = ["order"]
    admin_mixins = [ReadOnlyAdminMixin]
    staff = Scope(fields=["id", "order", "product", "name", "unit_price", "quantity", "amount"], filters=["order"])


@register
class CartItemResource(Resource):
    model = CartItem
    feature = "mall"
    list_display = ["account", "product", "quantity", "selected", "created_at", "hospital"]
    select_related = ["account", "product"]
    admin_mixins = [ReadOnlyAdminMixin]

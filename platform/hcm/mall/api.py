"""Hand-written mall endpoints under /api/v1/<hospital>/patient/: the cart, checkout (the
order-check page, then the order) and paying an order. "My orders" (list by state, detail,
cancel, request a refund) is generated from resources.py."""

from decimal import Decimal

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from hcm.lowcode.api import ERROR_RESPONSE, HOSPITAL_PARAMETER
from hcm.lowcode.serializers import ModelSerializer, serializer_for
from hcm.mall import services
from hcm.mall.models import CartItem, Order
from hcm.patients.api import PatientEndpoint
from hcm.patients.selectors import require_current_patient
from hcm.patients.serializers import PersonSerializer
from hcm.payments.api import PayInputSerializer, PaymentPasswordLimit, PaymentStartSerializer, start_payment
from hcm.payments.idempotency import idempotent
from hcm.wallet.selectors import account_for_patient

CART_TAG = "patient · cart"
CHECKOUT_TAG = "patient · checkout"


class CartItemSerializer(ModelSerializer):
    product_name = serializers.CharField(source="product.name", read_only=True)
    unit_price = serializers.DecimalField(source="product.price", max_digits=12, decimal_places=2, read_only=True)
    cover = serializers.ImageField(source="product.cover", read_only=True)
    amount = serializers.SerializerMethodField()

    class Meta:
        model = CartItem
        fields = ["id", "product", "product_name", "unit_price", "cover", "quantity", "selected", "amount"]
        read_only_fields = ["id", "product"]

    def get_amount(self, item: CartItem) -> Decimal:
        return item.product.price * item.quantity


class CartAddSerializer(serializers.Serializer):
    product = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1, max_value=services.MAX_QUANTITY, default=1)


class CartUpdateSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=services.MAX_QUANTITY, required=False)
    selected = serializers.BooleanField(required=False)


class CartSerializer(serializers.Serializer):
    items = CartItemSerializer(many=True)
    selected_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    count = serializers.IntegerField()


class LineSerializer(serializers.Serializer):
    product = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1, max_value=services.MAX_QUANTITY, default=1)


class CheckoutInputSerializer(serializers.Serializer):
    items = LineSerializer(many=True, required=False, help_text="Buy now: the products and quantities.")
    from_cart = serializers.BooleanField(default=False, help_text="Or: the selected items of the cart.")
    share_code = serializers.CharField(
        max_length=16, required=False, allow_blank=True, default="", help_text="A distributor's product share code."
    )

    def validate(self, attrs):
        if not attrs.get("from_cart") and not attrs.get("items"):
            raise serializers.ValidationError({"items": [serializers.Field.default_error_messages["required"]]})
        return attrs


class MethodSerializer(serializers.Serializer):
    method = serializers.CharField()
    label = serializers.CharField()
    available = serializers.BooleanField()
    notice = serializers.CharField()


class CheckoutLineSerializer(serializers.Serializer):
    product = serializers.IntegerField(source="product.pk")
    name = serializers.CharField(source="product.name")
    unit_price = serializers.DecimalField(source="product.price", max_digits=12, decimal_places=2)
    quantity = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)


class CheckoutSerializer(serializers.Serializer):
    lines = CheckoutLineSerializer(many=True)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    person = PersonSerializer()
    methods = MethodSerializer(many=True)
    balance = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)


def _cart_body(account, context) -> dict:
    items = list(account.cart_items.select_related("product").order_by("pk"))
    total = sum((i.product.price * i.quantity for i in items if i.selected), Decimal("0.00"))
    return CartSerializer({"items": items, "selected_total": total, "count": len(items)}, context=context).data


class CartView(PatientEndpoint, APIView):
    feature = "mall"

    @extend_schema(tags=[CART_TAG], parameters=[HOSPITAL_PARAMETER], responses={200: CartSerializer})
    def get(self, request, hospital: str):
        return Response(_cart_body(request.user, {"request": request}))

    @extend_schema(
        tags=[CART_TAG],
        parameters=[HOSPITAL_PARAMETER],
        request=CartAddSerializer,
        responses={201: CartSerializer, 404: ERROR_RESPONSE},
    )
    def post(self, request, hospital: str):
        body = CartAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.cart_add(
            account=request.user, product_id=body.validated_data["product"], quantity=body.validated_data["quantity"]
        )
        return Response(_cart_body(request.user, {"request": request}), status=status.HTTP_201_CREATED)


class CartItemView(PatientEndpoint, APIView):
    feature = "mall"

    def _item(self, request, pk) -> CartItem:
        return get_object_or_404(CartItem.objects.filter(account=request.user), pk=pk)

    @extend_schema(
        tags=[CART_TAG], parameters=[HOSPITAL_PARAMETER], request=CartUpdateSerializer, responses={200: CartSerializer}
    )
    def patch(self, request, hospital: str, pk: int):
        body = CartUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.cart_update(item=self._item(request, pk), **body.validated_data)
        return Response(_cart_body(request.user, {"request": request}))

    @extend_schema(tags=[CART_TAG], parameters=[HOSPITAL_PARAMETER], responses={200: CartSerializer})
    def delete(self, request, hospital: str, pk: int):
        services.cart_remove(item=self._item(request, pk))
        return Response(_cart_body(request.user, {"request": request}))


def _lines(request) -> tuple[list[services.Line], bool]:
    body = CheckoutInputSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    if body.validated_data["from_cart"]:
        return services.cart_lines(request.user), True
    return [services.Line(i["product"], i["quantity"]) for i in body.validated_data["items"]], False


def _methods(hospital) -> list[dict]:
    payments = hospital.settings.payments
    from hcm.payments.models import Method

    return [
        {
            "method": name,
            "label": str(Method(name).label),
            "available": payments.method_settings(name).enabled,
            "notice": payments.method_notice(name),
        }
        for name in payments.methods
    ]


class CheckoutPreviewView(PatientEndpoint, APIView):
    feature = "mall"

    @extend_schema(
        tags=[CHECKOUT_TAG],
        summary="The order-check page: lines at catalog prices, total, the person, payment methods",
        parameters=[HOSPITAL_PARAMETER],
        request=CheckoutInputSerializer,
        responses={200: CheckoutSerializer, 404: ERROR_RESPONSE, 409: ERROR_RESPONSE},
    )
    def post(self, request, hospital: str):
        lines, _from_cart = _lines(request)
        patient = require_current_patient(request.user)
        priced = services.price_lines(hospital=self.hospital, lines=lines)
        card = account_for_patient(patient) if self.hospital.settings.method_available("balance") else None
        body = {
            "lines": priced,
            "total": sum((line.amount for line in priced), Decimal("0.00")),
            "person": patient,
            "methods": _methods(self.hospital),
            "balance": card.balance if card else None,
        }
        return Response(CheckoutSerializer(body).data)


def _order_body(order: Order, request) -> dict:
    order = Order.objects.select_related("patient").prefetch_related("items").get(pk=order.pk)
    return serializer_for(Order, "patient")(order, context={"request": request}).data


class CheckoutView(PatientEndpoint, APIView):
    feature = "mall"

    @extend_schema(
        tags=[CHECKOUT_TAG],
        summary="Create the order (awaiting payment) for the current person",
        parameters=[HOSPITAL_PARAMETER],
        request=CheckoutInputSerializer,
        responses={201: serializer_for(Order, "patient"), 404: ERROR_RESPONSE, 409: ERROR_RESPONSE},
    )
    def post(self, request, hospital: str):
        lines, from_cart = _lines(request)
        patient = require_current_patient(request.user)
        share_code = str(request.data.get("share_code") or "")  # checked by the serializer in _lines
        order = services.order_create(
            account=request.user, patient=patient, lines=lines, from_cart=from_cart, share_code=share_code
        )
        return Response(_order_body(order, request), status=status.HTTP_201_CREATED)


class OrderPayView(PatientEndpoint, APIView):
    feature = "mall"
    throttle_classes = [PaymentPasswordLimit]

    @extend_schema(
        tags=[CHECKOUT_TAG],
        summary="Pay an order (send an Idempotency-Key header to make retries safe)",
        parameters=[HOSPITAL_PARAMETER],
        request=PayInputSerializer,
        responses={200: PaymentStartSerializer, 400: ERROR_RESPONSE, 409: ERROR_RESPONSE, 423: ERROR_RESPONSE},
    )
    @idempotent
    def post(self, request, hospital: str, pk: int):
        order = get_object_or_404(Order.objects.filter(account=request.user, hospital=self.hospital), pk=pk)
        return Response(start_payment(request=request, payable=order, patient=order.patient))


urlpatterns = [
    path("cart/", CartView.as_view(), name="patient-cart"),
    path("cart/<int:pk>/", CartItemView.as_view(), name="patient-cart-item"),
    path("checkout/preview/", CheckoutPreviewView.as_view(), name="patient-checkout-preview"),
    path("checkout/", CheckoutView.as_view(), name="patient-checkout"),
    path("orders/<int:pk>/pay/", OrderPayView.as_view(), name="patient-order-pay"),
]

"""Payment endpoints: the shapes pay endpoints of payables share, and WeChat Pay's callbacks.

The callbacks are plain Django views: no sign-in, no CSRF, no throttling (WeChat retries for
24 hours and must be answered within 5 seconds); the signature is what authenticates them.
"""

from django.http import Http404, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from hcm.hospitals.models import Hospital
from hcm.lowcode.api import ERROR_RESPONSE, HOSPITAL_PARAMETER
from hcm.lowcode.audit import client_ip
from hcm.lowcode.errors import allow_methods
from hcm.lowcode.permissions import PatientPermission
from hcm.lowcode.scoping import HospitalScopedMixin
from hcm.lowcode.serializers import ModelSerializer
from hcm.lowcode.throttling import limit
from hcm.patients.authentication import PatientTokenAuthentication
from hcm.payments import services, wechatpay
from hcm.payments.models import Method, Payment


class PayInputSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=Method.choices)
    password = serializers.CharField(
        required=False, allow_blank=True, max_length=32, help_text="The balance card's payment password."
    )


def _tries_password(request) -> bool:
    return isinstance(request.data, dict) and bool(request.data.get("password"))


# Pay endpoints count the payment passwords tried per account and per address, on top of each
# card's own lock (the per-card limit); a payment without a password tries none.
PaymentPasswordLimit = limit("payment_password", when=_tries_password)


class PaymentSerializer(ModelSerializer):
    method_label = serializers.CharField(source="get_method_display")
    state_label = serializers.CharField(source="get_state_display")

    class Meta:
        model = Payment
        fields = [
            "id",
            "method",
            "method_label",
            "amount",
            "refunded_amount",
            "state",
            "state_label",
            "out_trade_no",
            "paid_at",
            "created_at",
        ]


class WechatJsapiSerializer(serializers.Serializer):
    appId = serializers.CharField()
    timeStamp = serializers.CharField()
    nonceStr = serializers.CharField()
    package = serializers.CharField()
    signType = serializers.CharField()
    paySign = serializers.CharField()


class PaymentStartSerializer(serializers.Serializer):
    payment = PaymentSerializer()
    wechat = WechatJsapiSerializer(allow_null=True, help_text="WeChat Pay only: WeixinJSBridge parameters.")


def start_payment(*, request, payable, patient=None) -> dict:
    """Validate a pay request's body and start the payment; the body of the answer."""
    body = PayInputSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    start = services.payment_start(
        payable=payable,
        method=body.validated_data["method"],
        account=request.user,
        patient=patient,
        password=body.validated_data.get("password", ""),
        client_ip=client_ip(request) or "",
    )
    return PaymentStartSerializer({"payment": start.payment, "wechat": start.wechat or None}).data


def _hospital(code: str) -> Hospital | None:
    return Hospital.objects.filter(code=code, is_active=True).first()


def _xml(text: str, status: int = 200) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="application/xml")


@csrf_exempt
@allow_methods("POST")
def wechat_payment_notify(request, hospital: str):
    found = _hospital(hospital)
    if found is None:
        return _xml(wechatpay.reply(False, "unknown hospital"), status=404)
    return _xml(services.wechat_payment_notified(hospital=found, body=request.body))


@csrf_exempt
@allow_methods("POST")
def wechat_refund_notify(request, hospital: str):
    found = _hospital(hospital)
    if found is None:
        return _xml(wechatpay.reply(False, "unknown hospital"), status=404)
    return _xml(services.wechat_refund_notified(hospital=found, body=request.body))


class SandboxPaySerializer(serializers.Serializer):
    out_trade_no = serializers.CharField(max_length=32)


class SandboxPayView(HospitalScopedMixin, APIView):
    """Demo hospitals only: do what the patient's WeChat app would, pay, and let WeChat's signed
    notification reach the notify endpoint's code. 404 anywhere else."""

    authentication_classes = [PatientTokenAuthentication]
    permission_classes = [PatientPermission]

    @extend_schema(
        tags=["patient · payments"],
        summary="Sandbox only: complete a pending WeChat payment as if the patient had paid",
        parameters=[HOSPITAL_PARAMETER],
        request=SandboxPaySerializer,
        responses={200: PaymentSerializer, 404: ERROR_RESPONSE},
    )
    def post(self, request, hospital: str):
        body = SandboxPaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        client = wechatpay.client_for(self.hospital) if self.hospital.sandbox_enabled else None
        payment = Payment.objects.filter(
            hospital=self.hospital,
            account=request.user,
            method=Method.WECHAT,
            out_trade_no=body.validated_data["out_trade_no"],
        ).first()
        if not isinstance(client, wechatpay.SandboxWechatPayClient) or payment is None:
            raise Http404
        notification = client.signed_notification(
            out_trade_no=payment.out_trade_no, amount=payment.amount, openid=request.user.openid
        )
        services.wechat_payment_notified(hospital=self.hospital, body=notification)
        payment.refresh_from_db()
        return Response(PaymentSerializer(payment).data)


urlpatterns = [
    path("sandbox/pay/", SandboxPayView.as_view(), name="sandbox-pay"),
    path("wechat/payment-notify/", wechat_payment_notify, name="wechat-payment-notify"),
    path("wechat/refund-notify/", wechat_refund_notify, name="wechat-refund-notify"),
]

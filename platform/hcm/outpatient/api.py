"""Outpatient payment endpoints under /api/v1/<hospital>/patient/outpatient/ (MISSION B1).

Lists come straight from the HIS for the current bound person; paying charges the self-pay
share once and settles each prescription in the HIS. Paying by the code printed on a
prescription needs no binding, only a second factor, and reveals nothing else of the patient.
"""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from hcm.his.contract import PrescriptionKind
from hcm.lowcode.api import ERROR_RESPONSE, HOSPITAL_PARAMETER
from hcm.lowcode.audit import client_ip
from hcm.lowcode.serializers import ModelSerializer
from hcm.lowcode.throttling import limit
from hcm.outpatient import services
from hcm.outpatient.models import OutpatientPayment
from hcm.patients.api import PatientEndpoint
from hcm.patients.identity import mask_name
from hcm.patients.selectors import require_current_patient
from hcm.payments.api import PayInputSerializer, PaymentPasswordLimit, PaymentSerializer, WechatJsapiSerializer
from hcm.payments.idempotency import idempotent

TAG = "patient · outpatient"
MONEY = {"max_digits": 12, "decimal_places": 2}


class ItemSerializer(serializers.Serializer):
    name = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, coerce_to_string=True)
    unit = serializers.CharField()
    unit_price = serializers.DecimalField(**MONEY)
    amount = serializers.DecimalField(**MONEY)


class BillSerializer(serializers.Serializer):
    number = serializers.CharField(source="prescription.number")
    kind = serializers.ChoiceField(source="prescription.kind", choices=PrescriptionKind.choices)
    kind_label = serializers.SerializerMethodField()
    department = serializers.CharField(source="prescription.department")
    doctor = serializers.CharField(source="prescription.doctor")
    items = ItemSerializer(source="prescription.items", many=True)
    amount = serializers.DecimalField(source="prescription.amount", **MONEY)
    created_at = serializers.DateTimeField(source="prescription.created_at")
    pay_later = serializers.BooleanField(source="prescription.pay_later")
    mergeable = serializers.BooleanField(source="prescription.mergeable")
    pay_by = serializers.DateTimeField(allow_null=True, help_text="Null for pay-later bills: the HIS decides.")
    expired = serializers.BooleanField(help_text="Past pay_by: shown, but paying it is refused.")

    def get_kind_label(self, bill) -> str:
        return str(PrescriptionKind(bill.prescription.kind).label)


class MergeRulesSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    max_prescriptions = serializers.IntegerField()
    same_department_only = serializers.BooleanField()
    same_kind_only = serializers.BooleanField()


class UnpaidSerializer(serializers.Serializer):
    bills = BillSerializer(many=True)
    merge = MergeRulesSerializer()
    insurance = serializers.BooleanField(help_text="Insurance shares are settled in real time.")


class PaidSerializer(serializers.Serializer):
    number = serializers.CharField(source="prescription.number")
    kind = serializers.ChoiceField(source="prescription.kind", choices=PrescriptionKind.choices)
    department = serializers.CharField(source="prescription.department")
    doctor = serializers.CharField(source="prescription.doctor")
    items = ItemSerializer(source="prescription.items", many=True)
    amount = serializers.DecimalField(source="settlement.amount", **MONEY)
    insurance_amount = serializers.DecimalField(source="settlement.insurance_amount", **MONEY)
    self_pay_amount = serializers.DecimalField(source="settlement.self_pay_amount", **MONEY)
    receipt_number = serializers.CharField(source="settlement.receipt_number")
    settled_at = serializers.DateTimeField(source="settlement.settled_at")


class OutpatientPaymentSerializer(ModelSerializer):
    state_label = serializers.CharField(source="get_state_display")
    prescriptions = serializers.JSONField(read_only=True)

    class Meta:
        model = OutpatientPayment
        fields = [
            "id",
            "number",
            "state",
            "state_label",
            "patient_name",
            "insurance",
            "amount",
            "insurance_amount",
            "self_pay_amount",
            "refunded_amount",
            "payment_method",
            "prescriptions",
            "paid_at",
            "created_at",
        ]


class PayOutpatientSerializer(PayInputSerializer):
    numbers = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=50)


class PayAnswerSerializer(serializers.Serializer):
    outpatient_payment = OutpatientPaymentSerializer()
    payment = PaymentSerializer(allow_null=True, help_text="Null when insurance covers everything.")
    wechat = WechatJsapiSerializer(allow_null=True, help_text="WeChat Pay only: WeixinJSBridge parameters.")


class CodeSerializer(serializers.Serializer):
    pay_code = serializers.CharField(max_length=128, help_text="The QR or barcode content printed on the prescription.")
    name = serializers.CharField(max_length=64, required=False, allow_blank=True, help_text="The patient's full name.")
    phone_tail = serializers.RegexField(
        r"^\d{4}$", required=False, allow_blank=True, help_text="Or: the phone's last 4 digits."
    )


class PayByCodeSerializer(CodeSerializer, PayInputSerializer):
    pass


class CodeBillSerializer(serializers.Serializer):
    bill = BillSerializer()
    patient_name = serializers.CharField(help_text="Masked (尤**).")


def _pay_answer(outpatient: OutpatientPayment, start) -> dict:
    outpatient = OutpatientPayment.objects.prefetch_related("lines").get(pk=outpatient.pk)
    return PayAnswerSerializer(
        {
            "outpatient_payment": outpatient,
            "payment": start.payment if start else None,
            "wechat": (start.wechat or None) if start else None,
        }
    ).data


# Guesses of printed codes and second factors, per account, per address and per code.
CodeLookupLimit = limit("outpatient_code", targets=("pay_code",))


class UnpaidView(PatientEndpoint, APIView):
    feature = "outpatient"

    @extend_schema(
        tags=[TAG],
        summary="The current person's unpaid prescriptions, from the HIS, with their pay-by times",
        parameters=[HOSPITAL_PARAMETER],
        responses={200: UnpaidSerializer, 409: ERROR_RESPONSE, 503: ERROR_RESPONSE},
    )
    def get(self, request, hospital: str):
        patient = require_current_patient(request.user)
        rules = self.hospital.settings.outpatient
        bills = services.unpaid_bills(hospital=self.hospital, patient=patient)
        return Response(
            UnpaidSerializer({"bills": bills, "merge": rules.merge, "insurance": rules.insurance.enabled}).data
        )


class PaidView(PatientEndpoint, APIView):
    feature = "outpatient"

    @extend_schema(
        tags=[TAG],
        summary="The current person's paid prescriptions (one record per prescription), from the HIS",
        parameters=[HOSPITAL_PARAMETER],
        responses={200: PaidSerializer(many=True), 409: ERROR_RESPONSE, 503: ERROR_RESPONSE},
    )
    def get(self, request, hospital: str):
        patient = require_current_patient(request.user)
        return Response(
            PaidSerializer(services.paid_prescriptions(hospital=self.hospital, patient=patient), many=True).data
        )


class PayView(PatientEndpoint, APIView):
    feature = "outpatient"
    throttle_classes = [PaymentPasswordLimit]

    @extend_schema(
        tags=[TAG],
        summary="Pay one or several (merged) prescriptions of the current person (send an Idempotency-Key)",
        parameters=[HOSPITAL_PARAMETER],
        request=PayOutpatientSerializer,
        responses={200: PayAnswerSerializer, 400: ERROR_RESPONSE, 409: ERROR_RESPONSE, 503: ERROR_RESPONSE},
    )
    @idempotent
    def post(self, request, hospital: str):
        patient = require_current_patient(request.user)
        body = PayOutpatientSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        outpatient, start = services.outpatient_pay(
            account=request.user,
            patient=patient,
            numbers=body.validated_data["numbers"],
            method=body.validated_data["method"],
            password=body.validated_data.get("password", ""),
            client_ip=client_ip(request) or "",
        )
        return Response(_pay_answer(outpatient, start))


class CodeLookupView(PatientEndpoint, APIView):
    feature = "outpatient"
    throttle_classes = [CodeLookupLimit]

    @extend_schema(
        tags=[TAG],
        summary="Find a bill by the code printed on the prescription and a second factor (no binding needed)",
        parameters=[HOSPITAL_PARAMETER],
        request=CodeSerializer,
        responses={200: CodeBillSerializer, 403: ERROR_RESPONSE, 404: ERROR_RESPONSE},
    )
    def post(self, request, hospital: str):
        body = CodeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        bill, his_patient = services.bill_by_code(hospital=self.hospital, **body.validated_data)
        return Response(CodeBillSerializer({"bill": bill, "patient_name": mask_name(his_patient.name)}).data)


class PayByCodeView(PatientEndpoint, APIView):
    feature = "outpatient"
    throttle_classes = [CodeLookupLimit, PaymentPasswordLimit]

    @extend_schema(
        tags=[TAG],
        summary="Pay the bill printed with this code (no binding needed; send an Idempotency-Key)",
        parameters=[HOSPITAL_PARAMETER],
        request=PayByCodeSerializer,
        responses={200: PayAnswerSerializer, 403: ERROR_RESPONSE, 404: ERROR_RESPONSE, 409: ERROR_RESPONSE},
    )
    @idempotent
    def post(self, request, hospital: str):
        body = PayByCodeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        bill, his_patient = services.bill_by_code(
            hospital=self.hospital,
            pay_code=data["pay_code"],
            name=data.get("name", ""),
            phone_tail=data.get("phone_tail", ""),
        )
        outpatient, start = services.outpatient_pay(
            account=request.user,
            his_patient=his_patient,
            numbers=[bill.prescription.number],
            method=data["method"],
            password=data.get("password", ""),
            client_ip=client_ip(request) or "",
        )
        return Response(_pay_answer(outpatient, start))


urlpatterns = [
    path("outpatient/unpaid/", UnpaidView.as_view(), name="patient-outpatient-unpaid"),
    path("outpatient/paid/", PaidView.as_view(), name="patient-outpatient-paid"),
    path("outpatient/pay/", PayView.as_view(), name="patient-outpatient-pay"),
    path("outpatient/by-code/", CodeLookupView.as_view(), name="patient-outpatient-by-code"),
    path("outpatient/by-code/pay/", PayByCodeView.as_view(), name="patient-outpatient-by-code-pay"),
]

"""The patient's balance card: summary, payment password change and ledger.

Mounted under /api/v1/<hospital>/patient/. Everything is about the WeChat account's current
person; another person's card is never reachable from here.
"""

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from hcm.lowcode.api import ERROR_RESPONSE, HOSPITAL_PARAMETER
from hcm.lowcode.audit import client_ip
from hcm.lowcode.errors import DomainError
from hcm.lowcode.pagination import PageNumberPagination
from hcm.lowcode.permissions import PatientPermission
from hcm.lowcode.scoping import HospitalScopedMixin
from hcm.lowcode.throttling import limit
from hcm.patients.authentication import PatientTokenAuthentication
from hcm.patients.selectors import require_current_patient
from hcm.payments.idempotency import idempotent
from hcm.wallet import recharge, selectors, services
from hcm.wallet.models import LedgerEntry
from hcm.wallet.serializers import (
    LedgerEntrySerializer,
    PasswordChangeSerializer,
    RechargeInputSerializer,
    RechargeOptionsSerializer,
    RechargeStartSerializer,
    WalletSerializer,
    recharge_options,
    wallet_summary,
)

TAG = "patient · wallet"
NO_BINDING = OpenApiResponse(description="{code: binding_required, ...}: bind a patient record first.")


class WalletEndpoint(HospitalScopedMixin):
    """The signed-in patient of this hospital, where the balance card is switched on."""

    feature = "balance"
    authentication_classes = [PatientTokenAuthentication]
    permission_classes = [PatientPermission]


# Guesses of the payment password per WeChat account and per address, on top of the card's own
# lock (the per-card limit); the same counts as paying with a password (payments.api).
PaymentPasswordLimit = limit("payment_password")


class WalletView(WalletEndpoint, APIView):
    """The card of the account's current person: masked holder and number, balance, lock."""

    @extend_schema(
        tags=[TAG],
        summary="The current person's balance card (has_card false and balance 0.00 without one)",
        parameters=[HOSPITAL_PARAMETER],
        responses={200: WalletSerializer, 409: NO_BINDING},
    )
    def get(self, request, hospital: str):
        patient = require_current_patient(request.user)
        account = selectors.account_for_patient(patient)
        return Response(wallet_summary(hospital=self.hospital, patient=patient, account=account))


class PasswordChangeView(WalletEndpoint, APIView):
    """The patient changes the payment password; wrong old passwords lock the card as payments do."""

    throttle_classes = [PaymentPasswordLimit]

    @extend_schema(
        tags=[TAG],
        summary="Change the payment password (wrong old passwords count towards the lock)",
        parameters=[HOSPITAL_PARAMETER],
        request=PasswordChangeSerializer,
        responses={200: WalletSerializer, 400: ERROR_RESPONSE, 409: ERROR_RESPONSE, 429: ERROR_RESPONSE},
    )
    def post(self, request, hospital: str):
        patient = require_current_patient(request.user)
        body = PasswordChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        account = selectors.account_for_patient(patient)
        if account is None:
            raise DomainError(_("You do not have a balance card yet."), code="no_card", status=409)
        services.password_change(account=account, **body.validated_data)
        return Response(wallet_summary(hospital=self.hospital, patient=patient, account=account))


class EntryListView(WalletEndpoint, generics.ListAPIView):
    """Every credit and debit of the current person's card, with the balance after it."""

    serializer_class = LedgerEntrySerializer
    pagination_class = PageNumberPagination
    queryset = LedgerEntry.objects.none()

    def get_queryset(self):
        return selectors.patient_entries(require_current_patient(self.request.user))

    @extend_schema(
        tags=[TAG],
        summary="The current person's balance ledger, newest first",
        parameters=[HOSPITAL_PARAMETER],
        responses={200: LedgerEntrySerializer(many=True), 409: NO_BINDING},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class RechargeView(WalletEndpoint, APIView):
    """Online recharge of the current person's card, paid by WeChat Pay (MISSION A7)."""

    feature = "recharge"

    @extend_schema(
        tags=[TAG],
        summary="The recharge page: balance, masked holder, preset amounts, minimum and maximum",
        parameters=[HOSPITAL_PARAMETER],
        responses={200: RechargeOptionsSerializer, 409: NO_BINDING},
    )
    def get(self, request, hospital: str):
        patient = require_current_patient(request.user)
        account = selectors.account_for_patient(patient)
        return Response(recharge_options(hospital=self.hospital, patient=patient, account=account))

    @extend_schema(
        tags=[TAG],
        summary="Recharge: a preset or typed amount, paid by WeChat Pay (send an Idempotency-Key header)",
        parameters=[HOSPITAL_PARAMETER],
        request=RechargeInputSerializer,
        responses={200: RechargeStartSerializer, 400: ERROR_RESPONSE, 409: ERROR_RESPONSE},
    )
    @idempotent
    def post(self, request, hospital: str):
        patient = require_current_patient(request.user)
        body = RechargeInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        start = recharge.recharge_start(
            account=request.user,
            patient=patient,
            amount=body.validated_data["amount"],
            client_ip=client_ip(request) or "",
        )
        answer = {"recharge": start.payment.payable, "payment": start.payment, "wechat": start.wechat or None}
        return Response(RechargeStartSerializer(answer).data)


urlpatterns = [
    path("recharge/", RechargeView.as_view(), name="patient-recharge"),
    path("wallet/", WalletView.as_view(), name="patient-wallet"),
    path("wallet/password/", PasswordChangeView.as_view(), name="patient-wallet-password"),
    path("wallet/entries/", EntryListView.as_view(), name="patient-wallet-entries"),
]

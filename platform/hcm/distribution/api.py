"""Distribution endpoints (MISSION A8), mounted under /api/v1/<hospital>/:

  patient/distribution/...   the signed-in WeChat account: apply, the centre, links, invitations,
                             customers, orders, income detail, ledger, withdrawals
  public/distribution/...    QR code PNGs of invitation and share links (the code is public anyway)
  staff/distribution/report/ the per-hospital report for finance

A distributor only ever sees their own rows: every list starts from the signed-in account.
"""

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from hcm.catalog.selectors import product_for_sale
from hcm.distribution import links, official_account, selectors, services, verification, withdrawals
from hcm.distribution.models import Commission, CommissionEntry, Distributor, VerificationCode
from hcm.distribution.serializers import (
    ApplicationStatusSerializer,
    ApplyInputSerializer,
    CentreSerializer,
    CustomerSerializer,
    DistributionOrderSerializer,
    EntrySerializer,
    IncomeLineSerializer,
    InvitationSerializer,
    ReferralInputSerializer,
    ReferralSerializer,
    ReportInputSerializer,
    ReportSerializer,
    ShareSerializer,
    SmsCodeInputSerializer,
    SmsCodeSentSerializer,
    WithdrawalSerializer,
    WithdrawInputSerializer,
)
from hcm.hospitals import tenancy
from hcm.hospitals.authentication import StaffTokenAuthentication
from hcm.lowcode.api import ERROR_RESPONSE, HOSPITAL_PARAMETER
from hcm.lowcode.audit import client_ip
from hcm.lowcode.pagination import PageNumberPagination
from hcm.lowcode.permissions import is_operator
from hcm.lowcode.scoping import HospitalScopedMixin
from hcm.lowcode.throttling import limit
from hcm.patients.api import PatientEndpoint
from hcm.patients.wechat import WechatUnavailable
from hcm.payments.idempotency import idempotent

TAG = "patient · distribution"
NOT_DISTRIBUTOR = OpenApiResponse(description="{code: not_distributor, ...}: apply first.")
PNG = {(200, "image/png"): OpenApiTypes.BINARY}


class DistributionEndpoint(PatientEndpoint):
    feature = "distribution"


def _qr_url(request, name: str, **kwargs) -> str:
    return request.build_absolute_uri(reverse(name, kwargs={"hospital": request.hospital.code, **kwargs}))


def _invite(request, distributor: Distributor, target: str) -> dict:
    hospital = distributor.hospital.name
    message = {
        links.INVITE_DISTRIBUTOR: _("Join %(hospital)s as a distributor and earn commission on checkups."),
        links.INVITE_MEMBER: _("%(hospital)s health checkups, recommended to you by a friend."),
    }[target] % {"hospital": hospital}
    return {
        "url": links.invite_link(distributor, target),
        "qr": _qr_url(request, "distribution-invite-qr", code=distributor.invite_code, target=target),
        "message": message,
    }


def _official_account_qr(distributor: Distributor) -> dict | None:
    """Image URLs of the official account's invitation QR codes; None when the config is off."""
    if not distributor.hospital.settings.distribution.official_account_qr:
        return None
    urls = dict.fromkeys(links.INVITE_TARGETS)
    for target in links.INVITE_TARGETS:
        try:
            urls[target] = official_account.official_account_qr(distributor, target)["url"]
        except WechatUnavailable:
            break  # the next would wait out the same timeout; the centre answers with the PNGs
    return urls


# --- Applying -------------------------------------------------------------------------------------


class SmsCodeView(DistributionEndpoint, APIView):
    # Requests per account and per address; the texts actually sent are also limited per phone and
    # per address from the codes table (verification.py).
    throttle_classes = [limit("sms_code")]

    @extend_schema(
        tags=[TAG],
        summary="Text a verification code to the applicant's phone (limited per phone and per address)",
        parameters=[HOSPITAL_PARAMETER],
        request=SmsCodeInputSerializer,
        responses={200: SmsCodeSentSerializer, 400: ERROR_RESPONSE, 409: ERROR_RESPONSE, 429: ERROR_RESPONSE},
    )
    def post(self, request, hospital: str):
        body = SmsCodeInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        verification.code_send(
            hospital=self.hospital,
            phone=body.validated_data["phone"],
            purpose=VerificationCode.Purpose.APPLY,
            ip_address=client_ip(request),
        )
        return Response(
            {
                "expires_in": int(verification.CODE_TTL.total_seconds()),
                "resend_after": int(verification.RESEND_AFTER.total_seconds()),
            }
        )


class ApplicationView(DistributionEndpoint, APIView):
    def _status(self, request) -> dict:
        rules = self.hospital.settings.distribution
        return ApplicationStatusSerializer(
            {
                "is_distributor": Distributor.objects.filter(account=request.user).exists(),
                "application": selectors.latest_application(request.user),
                "rules": {
                    "review_applications": rules.review_applications,
                    "invite_code_required": rules.invite_code_required,
                },
            }
        ).data

    @extend_schema(
        tags=[TAG],
        summary="Become a distributor: the latest application and the hospital's rules",
        parameters=[HOSPITAL_PARAMETER],
        responses={200: ApplicationStatusSerializer},
    )
    def get(self, request, hospital: str):
        return Response(self._status(request))

    @extend_schema(
        tags=[TAG],
        summary="Apply: name, phone, SMS code, invite code, agreement (under review, or approved at once)",
        parameters=[HOSPITAL_PARAMETER],
        request=ApplyInputSerializer,
        responses={201: ApplicationStatusSerializer, 400: ERROR_RESPONSE, 409: ERROR_RESPONSE},
    )
    def post(self, request, hospital: str):
        body = ApplyInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.application_apply(account=request.user, **body.validated_data)
        return Response(self._status(request), status=status.HTTP_201_CREATED)


class ReferralView(DistributionEndpoint, APIView):
    @extend_schema(
        tags=[TAG],
        summary="The account opened a member invitation: attribute it to the inviter (first invitation kept)",
        parameters=[HOSPITAL_PARAMETER],
        request=ReferralInputSerializer,
        responses={200: ReferralSerializer, 400: ERROR_RESPONSE},
    )
    def post(self, request, hospital: str):
        body = ReferralInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        referral = services.referral_record(account=request.user, invite_code=body.validated_data["invite_code"])
        return Response(
            {
                "attributed": referral is not None,
                "distributor": referral.distributor.masked_name if referral else "",
            }
        )


# --- The distribution centre ------------------------------------------------------------------------


class CentreView(DistributionEndpoint, APIView):
    @extend_schema(
        tags=[TAG],
        summary=(
            "The distribution centre: withdrawable, pending, earned, today; invitation links and QR codes "
            "(the official account's too, where the hospital uses them)"
        ),
        parameters=[HOSPITAL_PARAMETER],
        responses={200: CentreSerializer, 409: NOT_DISTRIBUTOR},
    )
    def get(self, request, hospital: str):
        distributor = selectors.require_distributor(request.user)
        rules = self.hospital.settings.distribution.withdrawal
        body = {
            "distributor": distributor,
            "summary": selectors.centre_summary(distributor),
            "income": selectors.income_totals(distributor),
            "withdrawal_rules": {
                "review": rules.review,
                "min": rules.min,
                "max_per_day": rules.max_per_day,
                "fee_rate": rules.fee_rate,
                "left_today": max(rules.max_per_day - withdrawals.withdrawn_today(distributor), 0),
            },
            "invite_distributor": _invite(request, distributor, links.INVITE_DISTRIBUTOR),
            "invite_member": _invite(request, distributor, links.INVITE_MEMBER),
            "official_account_qr": _official_account_qr(distributor),
        }
        return Response(CentreSerializer(body).data)


class ShareView(DistributionEndpoint, APIView):
    @extend_schema(
        tags=[TAG],
        summary="Promote a product: its share link and QR code carrying my code",
        parameters=[HOSPITAL_PARAMETER],
        responses={200: ShareSerializer, 404: ERROR_RESPONSE, 409: NOT_DISTRIBUTOR},
    )
    def get(self, request, hospital: str, product: int):
        distributor = selectors.require_distributor(request.user)
        item = product_for_sale(hospital=self.hospital, product_id=product)
        if item is None:
            raise Http404
        rate = self.hospital.settings.distribution.commission.direct_rate
        body = {
            "product": item.pk,
            "name": item.name,
            "price": item.price,
            "commission_eligible": item.commission_eligible,
            "estimated_commission": services.quantize(item.price * rate) if item.commission_eligible else 0,
            "link": {
                "url": links.share_link(distributor, item.pk),
                "qr": _qr_url(request, "distribution-share-qr", code=distributor.invite_code, product=item.pk),
                "message": _("%(product)s at %(hospital)s, recommended to you by a friend.")
                % {"product": item.name, "hospital": self.hospital.name},
            },
        }
        return Response(ShareSerializer(body).data)


class _DistributorList(DistributionEndpoint, generics.ListAPIView):
    pagination_class = PageNumberPagination
    queryset = Commission.objects.none()  # schema generation; get_queryset answers the real rows

    def distributor(self) -> Distributor:
        if not hasattr(self, "_distributor"):
            self._distributor = selectors.require_distributor(self.request.user)
        return self._distributor


def _with_people(rows: list[dict]) -> list[dict]:
    found = selectors.people([row["person"] for row in rows])
    return [{**found.get(row["person"], {}), **row} for row in rows]


class InvitationListView(_DistributorList):
    serializer_class = InvitationSerializer

    def get_queryset(self):
        kind = self.request.query_params.get("kind")
        ordered = self.request.query_params.get("ordered") in ("1", "true")
        return selectors.invitations(
            self.distributor(), kind=kind if kind in links.INVITE_TARGETS else None, ordered=ordered
        )

    @extend_schema(
        tags=[TAG],
        summary="My invitations: people I invited as members or distributors, with their paid orders",
        parameters=[
            HOSPITAL_PARAMETER,
            OpenApiParameter("kind", OpenApiTypes.STR, enum=list(links.INVITE_TARGETS)),
            OpenApiParameter("ordered", OpenApiTypes.BOOL, description="Only those who have ordered."),
        ],
        responses={200: InvitationSerializer(many=True), 409: NOT_DISTRIBUTOR},
    )
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(InvitationSerializer(_with_people(list(page)), many=True).data)


class CustomerListView(_DistributorList):
    serializer_class = CustomerSerializer

    def get_queryset(self):
        return selectors.customers(self.distributor())

    @extend_schema(
        tags=[TAG],
        summary="My customers: who ordered through my product shares",
        parameters=[HOSPITAL_PARAMETER],
        responses={200: CustomerSerializer(many=True), 409: NOT_DISTRIBUTOR},
    )
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        rows = [{**row, "amount": selectors.money(row["amount"])} for row in page]
        people = selectors.people([row["person"] for row in rows])
        body = [{**row, **{k: people[row["person"]][k] for k in ("nickname", "avatar_url")}} for row in rows]
        return self.get_paginated_response(CustomerSerializer(body, many=True).data)


class OrderListView(_DistributorList):
    serializer_class = DistributionOrderSerializer

    def get_queryset(self):
        return selectors.distribution_orders(self.distributor())

    @extend_schema(
        tags=[TAG],
        summary="Distribution orders: orders credited to me, with my commission on each",
        parameters=[HOSPITAL_PARAMETER],
        responses={200: DistributionOrderSerializer(many=True), 409: NOT_DISTRIBUTOR},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class IncomeListView(_DistributorList):
    serializer_class = IncomeLineSerializer

    def get_queryset(self):
        income_type = self.request.query_params.get("type")
        return selectors.income_lines(
            self.distributor(), income_type if income_type in selectors.INCOME_TYPES else None
        )

    @extend_schema(
        tags=[TAG],
        summary="Income detail: distribution, team and other income, each with order number, time and amount",
        parameters=[
            HOSPITAL_PARAMETER,
            OpenApiParameter("type", OpenApiTypes.STR, enum=list(selectors.INCOME_TYPES)),
        ],
        responses={200: IncomeLineSerializer(many=True), 409: NOT_DISTRIBUTOR},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class EntryListView(_DistributorList):
    serializer_class = EntrySerializer

    def get_queryset(self):
        return CommissionEntry.objects.filter(account__distributor=self.distributor()).order_by("-created_at", "-pk")

    @extend_schema(
        tags=[TAG],
        summary="My commission account's ledger: settlements, clawbacks, withdrawals and returns",
        parameters=[HOSPITAL_PARAMETER],
        responses={200: EntrySerializer(many=True), 409: NOT_DISTRIBUTOR},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class WithdrawalListView(_DistributorList):
    serializer_class = WithdrawalSerializer

    def get_queryset(self):
        return selectors.withdrawals_of(self.distributor())

    @extend_schema(
        tags=[TAG],
        summary="My withdrawal records",
        parameters=[HOSPITAL_PARAMETER],
        responses={200: WithdrawalSerializer(many=True), 409: NOT_DISTRIBUTOR},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=[TAG],
        summary="Withdraw an amount or everything allowed (send an Idempotency-Key header)",
        parameters=[HOSPITAL_PARAMETER],
        request=WithdrawInputSerializer,
        responses={201: WithdrawalSerializer, 400: ERROR_RESPONSE, 409: ERROR_RESPONSE},
    )
    @idempotent
    def post(self, request, hospital: str):
        body = WithdrawInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        withdrawal = withdrawals.withdrawal_request(
            distributor=self.distributor(),
            amount=body.validated_data.get("amount"),
            withdraw_all=body.validated_data["all"],
        )
        return Response(WithdrawalSerializer(withdrawal).data, status=status.HTTP_201_CREATED)


class WithdrawalDetailView(DistributionEndpoint, APIView):
    @extend_schema(
        tags=[TAG],
        summary="One withdrawal record",
        parameters=[HOSPITAL_PARAMETER],
        responses={200: WithdrawalSerializer, 404: ERROR_RESPONSE, 409: NOT_DISTRIBUTOR},
    )
    def get(self, request, hospital: str, pk: int):
        distributor = selectors.require_distributor(request.user)
        return Response(WithdrawalSerializer(get_object_or_404(selectors.withdrawals_of(distributor), pk=pk)).data)


# --- QR codes (public) ------------------------------------------------------------------------------


class _QrView(HospitalScopedMixin, APIView):
    feature = "distribution"
    authentication_classes = []
    permission_classes = [AllowAny]

    def distributor(self, code: str) -> Distributor:
        return get_object_or_404(
            Distributor.objects.select_related("hospital"), hospital=self.hospital, invite_code=code
        )


def _png(content: bytes) -> HttpResponse:
    response = HttpResponse(content, content_type="image/png")
    response["Cache-Control"] = "public, max-age=86400"
    return response


class InviteQrView(_QrView):
    @extend_schema(
        tags=["public · distribution"],
        summary="The QR code (PNG) of a distributor's invitation link",
        parameters=[HOSPITAL_PARAMETER],
        responses={**PNG, 404: ERROR_RESPONSE},
    )
    def get(self, request, hospital: str, code: str, target: str):
        if target not in links.INVITE_TARGETS:
            raise Http404
        return _png(links.qr_png(links.invite_link(self.distributor(code), target)))


class ShareQrView(_QrView):
    @extend_schema(
        tags=["public · distribution"],
        summary="The QR code (PNG) of a distributor's share link of a product",
        parameters=[HOSPITAL_PARAMETER],
        responses={**PNG, 404: ERROR_RESPONSE},
    )
    def get(self, request, hospital: str, code: str, product: int):
        distributor = self.distributor(code)
        if product_for_sale(hospital=self.hospital, product_id=product) is None:
            raise Http404
        return _png(links.qr_png(links.share_link(distributor, product)))


# --- The report (staff) -----------------------------------------------------------------------------


class ReportPermission(BasePermission):
    """An operator allowed to see commissions at this hospital (finance, hospital admin)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not is_operator(user) or not tenancy.can_access_hospital(user, view.hospital.pk):
            return False
        return user.is_superuser or "distribution.view_commission" in tenancy.hospital_permissions(
            user, view.hospital.pk
        )


class ReportView(HospitalScopedMixin, APIView):
    feature = "distribution"
    authentication_classes = [StaffTokenAuthentication, SessionAuthentication]
    permission_classes = [ReportPermission]

    @extend_schema(
        tags=["staff · distribution"],
        summary="The hospital's distribution report: earned, settled, clawed back, withdrawn (period optional)",
        parameters=[HOSPITAL_PARAMETER, ReportInputSerializer],
        responses={200: ReportSerializer, 400: ERROR_RESPONSE, 403: ERROR_RESPONSE},
    )
    def get(self, request, hospital: str):
        query = ReportInputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = selectors.distribution_report(hospital=self.hospital, **query.validated_data)
        return Response(ReportSerializer(report).data)


urlpatterns = [
    path("patient/distribution/", CentreView.as_view(), name="distribution-centre"),
    path("patient/distribution/sms-code/", SmsCodeView.as_view(), name="distribution-sms-code"),
    path("patient/distribution/application/", ApplicationView.as_view(), name="distribution-application"),
    path("patient/distribution/referral/", ReferralView.as_view(), name="distribution-referral"),
    path("patient/distribution/products/<int:product>/share/", ShareView.as_view(), name="distribution-share"),
    path("patient/distribution/invitations/", InvitationListView.as_view(), name="distribution-invitations"),
    path("patient/distribution/customers/", CustomerListView.as_view(), name="distribution-customers"),
    path("patient/distribution/orders/", OrderListView.as_view(), name="distribution-orders"),
    path("patient/distribution/income/", IncomeListView.as_view(), name="distribution-income"),
    path("patient/distribution/entries/", EntryListView.as_view(), name="distribution-entries"),
    path("patient/distribution/withdrawals/", WithdrawalListView.as_view(), name="distribution-withdrawals"),
    path(
        "patient/distribution/withdrawals/<int:pk>/",
        WithdrawalDetailView.as_view(),
        name="distribution-withdrawal",
    ),
    path(
        "public/distribution/<str:code>/qr/<str:target>.png",
        InviteQrView.as_view(),
        name="distribution-invite-qr",
    ),
    path(
        "public/distribution/<str:code>/products/<int:product>/qr.png",
        ShareQrView.as_view(),
        name="distribution-share-qr",
    ),
    path("staff/distribution/report/", ReportView.as_view(), name="distribution-report"),
]

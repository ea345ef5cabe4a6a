"""Patient endpoints that are not generated: signing in, binding records, the "my" page.

Under /api/v1/<hospital>/patient/. Sign-in answers a token for this hospital only; the rest
need `Authorization: Bearer <token>` and act for the signed-in WeChat account alone.
"""

import typing

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from hcm.hospitals.config.sections import DERIVED_FEATURES
from hcm.hospitals.config.values import Feature
from hcm.lowcode.api import ERROR_RESPONSE, HOSPITAL_PARAMETER, Router
from hcm.lowcode.permissions import PatientPermission
from hcm.lowcode.scoping import HospitalScopedMixin
from hcm.lowcode.throttling import limit
from hcm.patients import mypage, selectors, services, wechat
from hcm.patients.authentication import PatientTokenAuthentication
from hcm.patients.serializers import (
    AuthorizeQuerySerializer,
    BindingSerializer,
    BindInputSerializer,
    MyPageSerializer,
    SandboxSignInSerializer,
    SignInSerializer,
    TokenSerializer,
)

SIGN_IN_TAG = "patient · sign-in"
BINDING_TAG = "patient · bindings"


class PatientEndpoint(HospitalScopedMixin):
    """Base of hand-written patient endpoints: the patient token, for this hospital only."""

    authentication_classes = [PatientTokenAuthentication]
    permission_classes = [PatientPermission]


# Binding attempts per account, per address and per person tried (each identifying detail but
# the name, which many people share).
BindingLimit = limit("binding", targets=("id_number", "medical_card_number", "phone"))


def _token_body(sign_in: services.SignIn) -> dict:
    return TokenSerializer(
        {"token": sign_in.key, "expires_at": sign_in.token.expires_at, "account": sign_in.account}
    ).data


class _SignInEndpoint(HospitalScopedMixin, APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [limit("patient_sign_in", by_account=False, targets=("openid",))]


class AuthorizeUrlView(_SignInEndpoint):
    @extend_schema(
        tags=[SIGN_IN_TAG],
        summary="The WeChat authorisation URL to send the patient's browser to",
        parameters=[HOSPITAL_PARAMETER, AuthorizeQuerySerializer],
        responses={200: {"type": "object", "properties": {"url": {"type": "string"}}}, 503: ERROR_RESPONSE},
    )
    def get(self, request, hospital: str):
        query = AuthorizeQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        url = wechat.authorize_url(self.hospital, **query.validated_data)
        return Response({"url": url})


class WechatSignInView(_SignInEndpoint):
    @extend_schema(
        tags=[SIGN_IN_TAG],
        summary="Sign in with the code WeChat returned; answers a patient token of this hospital",
        parameters=[HOSPITAL_PARAMETER],
        request=SignInSerializer,
        responses={200: TokenSerializer, 400: ERROR_RESPONSE, 503: ERROR_RESPONSE},
    )
    def post(self, request, hospital: str):
        body = SignInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        sign_in = services.wechat_sign_in(hospital=self.hospital, code=body.validated_data["code"])
        return Response(_token_body(sign_in))


class SandboxSignInView(_SignInEndpoint):
    @extend_schema(
        tags=[SIGN_IN_TAG],
        summary="Development sign-in without WeChat (only where the config says sandbox: true)",
        parameters=[HOSPITAL_PARAMETER],
        request=SandboxSignInSerializer,
        responses={200: TokenSerializer, 403: ERROR_RESPONSE},
    )
    def post(self, request, hospital: str):
        body = SandboxSignInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(_token_body(services.sandbox_sign_in(hospital=self.hospital, **body.validated_data)))


class SignOutView(PatientEndpoint, APIView):
    @extend_schema(
        tags=[SIGN_IN_TAG],
        summary="Revoke this token",
        parameters=[HOSPITAL_PARAMETER],
        request=None,
        responses={204: None},
    )
    def post(self, request, hospital: str):
        services.sign_out(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=[BINDING_TAG], parameters=[HOSPITAL_PARAMETER])
class BindingViewSet(PatientEndpoint, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The people this WeChat account has bound; the current one is marked."""

    serializer_class = BindingSerializer
    pagination_class = None

    def get_throttles(self):
        return [BindingLimit()] if self.action == "create" else []

    def get_queryset(self):
        return selectors.account_bindings(self.request.user)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "account": self.request.user, "hospital": self.hospital}

    @extend_schema(
        summary="Bind a person on the hospital's records (the fields required are the config's identify_by)",
        request=BindInputSerializer,
        responses={201: BindingSerializer, 400: ERROR_RESPONSE, 409: ERROR_RESPONSE},
    )
    def create(self, request, hospital: str):
        body = BindInputSerializer(data=request.data, context={"hospital": self.hospital})
        body.is_valid(raise_exception=True)
        details = dict(body.validated_data)
        relation = details.pop("relation")
        binding = services.binding_create(account=request.user, details=details, relation=relation)
        binding = self.get_queryset().get(pk=binding.pk)
        return Response(self.get_serializer(binding).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Unbind", responses={204: None, 404: ERROR_RESPONSE})
    def destroy(self, request, hospital: str, pk: str):
        services.binding_delete(account=request.user, binding=get_object_or_404(self.get_queryset(), pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Make this person the current one", request=None, responses={200: BindingSerializer})
    @action(detail=True, methods=["post"])
    def switch(self, request, hospital: str, pk: str):
        binding = get_object_or_404(self.get_queryset(), pk=pk)
        services.binding_switch(account=request.user, binding=binding)
        return Response(self.get_serializer(binding).data)


class MyPageView(PatientEndpoint, APIView):
    @extend_schema(
        tags=["patient · my page"],
        summary="The my page: current person, bound people, balance, counts and switched-on features",
        parameters=[HOSPITAL_PARAMETER],
        responses={200: MyPageSerializer},
    )
    def get(self, request, hospital: str):
        account = request.user
        bindings = list(selectors.account_bindings(account))
        current = next((b for b in bindings if b.patient_id == account.current_patient_id), None)
        patient = current.patient if current else None
        config = self.hospital.settings
        extra = mypage.sections(account, patient)
        body = {
            "account": account,
            "current": current,
            "bindings": bindings,
            "balance": extra.get("balance"),
            "distribution": extra.get("distribution"),
            "counts": mypage.counts(account, patient),
            "features": [name for name in ALL_FEATURES if config.has_feature(name)],
            "binding_rules": {
                "identify_by": list(config.binding.identify_by),
                "max_bound_people": config.binding.max_bound_people,
                "require_existing_record": config.binding.require_existing_record,
            },
        }
        return Response(MyPageSerializer(body, context={"account": account}).data)


ALL_FEATURES = (*typing.get_args(Feature), *DERIVED_FEATURES)

router = Router()
router.register("bindings", BindingViewSet, basename="patient-bindings")

urlpatterns = [
    path("auth/wechat/authorize-url/", AuthorizeUrlView.as_view(), name="patient-authorize-url"),
    path("auth/wechat/", WechatSignInView.as_view(), name="patient-wechat-sign-in"),
    path("auth/sandbox/", SandboxSignInView.as_view(), name="patient-sandbox-sign-in"),
    path("auth/sign-out/", SignOutView.as_view(), name="patient-sign-out"),
    path("me/", MyPageView.as_view(), name="patient-me"),
    *router.urls,
]

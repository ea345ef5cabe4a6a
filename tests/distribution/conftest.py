"""A hospital running the distribution programme with the console SMS provider (its texts caught
here), checkup products that do and do not earn commission, bound patients with balance cards,
and helpers that make distributors, place and pay orders, and complete or refund them.

`rules` holds overrides of the hospital's `distribution` section; a test changes them with
@pytest.mark.parametrize("rules", [{...}]).
"""

from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from hcm.distribution.models import Application, Distributor
from hcm.hospitals.roles import Role
from hcm.lowcode.transitions import transition_apply
from hcm.mall import services as mall
from hcm.mall.models import Order
from hcm.notifications import sms
from hcm.patients.models import Binding, PatientRecord, PatientToken, WechatAccount
from hcm.payments.models import Payment
from hcm.wallet import services as wallet
from tests.conftest import make_hospital, make_operator
from tests.factories import id_number
from tests.mall.conftest import make_product
from tests.payments import wechat_fake

API = "/api/v1/dist/patient/distribution/"
STAFF = "/api/v1/dist/staff/"
PASSWORD = "246810"

DEFAULT_RULES = {
    "review_applications": "true",
    "invite_code_required": "false",
    "direct_rate": "0.10",
    "team_rate": "0.03",
    "invite_reward": "5.00",
    "invite_reward_on": "approved",
    "settle_after_days": "7",
    "review_withdrawals": "true",
    "min": "10.00",
    "max_per_day": "500.00",
    "fee_rate": "0.006",
}


def hospital_yaml(**overrides) -> str:
    rules = {**DEFAULT_RULES, **overrides}
    return (
        f"""
payments:
  methods: [balance, at_hospital]
distribution:
  review_applications: {rules["review_applications"]}
  invite_code_required: {rules["invite_code_required"]}
  commission:
    direct_rate: "{rules["direct_rate"]}"
    team_rate: "{rules["team_rate"]}"
    invite_reward: "{rules["invite_reward"]}"
    invite_reward_on: {rules["invite_reward_on"]}
  settle_after_days: {rules["settle_after_days"]}
  withdrawal:
    review: {rules["review_withdrawals"]}
    min: "{rules["min"]}"
    max_per_day: "{rules["max_per_day"]}"
    fee_rate: "{rules["fee_rate"]}"
notifications:
  wechat_templates:
    distributor_review: TPL-REVIEW
    withdrawal: TPL-WITHDRAWAL
  sms:
    provider: console
    sign: 分销医院
"""
        + wechat_fake.CONFIG
    )


@dataclass
class SmsOutbox:
    """Texts the console provider was asked to send."""

    sent: list[dict] = field(default_factory=list)

    def send(self, *, sign: str, phone: str, template: str, template_id: str, params: dict[str, str]) -> None:
        self.sent.append({"phone": phone, "template": template, **params})

    def last_code(self, phone: str) -> str:
        return next(text["code"] for text in reversed(self.sent) if text["phone"] == phone)


@pytest.fixture(autouse=True)
def texts(monkeypatch) -> SmsOutbox:
    outbox = SmsOutbox()
    monkeypatch.setitem(sms.PROVIDERS, "console", outbox)
    return outbox


@pytest.fixture(autouse=True)
def wechat_secrets(monkeypatch):
    monkeypatch.setenv("TEST_WECHAT_API_KEY", wechat_fake.API_KEY)
    monkeypatch.setenv("TEST_WECHAT_SECRET", "app-secret")


@pytest.fixture
def rules() -> dict:
    return {}


@pytest.fixture
def hospital(db, rules):
    return make_hospital("dist", name="分销医院", extra=hospital_yaml(**rules))


@pytest.fixture
def package(hospital):
    """299.00, earns commission."""
    return make_product(hospital, code="PKG-1", price="299.00")


@pytest.fixture
def eye_test(hospital):
    """45.50, earns no commission."""
    product = make_product(hospital, code="EYE-1", price="45.50", name="视力检查")
    type(product).objects.filter(pk=product.pk).update(commission_eligible=False)
    product.refresh_from_db()
    return product


_serial = iter(range(100, 999))


def make_account(hospital, openid: str, *, name: str = "尤小明", nickname: str = "", balance: str = "10000.00"):
    """A WeChat account with a bound person (current) who holds a balance card."""
    patient = PatientRecord.objects.create(
        hospital=hospital,
        medical_card_number=f"M-{openid}",
        name=name,
        id_number=id_number(serial=next(_serial)),
        phone="13812345678",
    )
    account = WechatAccount.objects.create(
        hospital=hospital, openid=openid, nickname=nickname or openid, current_patient=patient
    )
    Binding.objects.create(hospital=hospital, account=account, patient=patient)
    card = wallet.account_issue(patient=patient, password=PASSWORD, operator=None)
    wallet.account_credit(account=card, amount=Decimal(balance), kind="adjustment", reference="test:opening")
    return account


def client_for(account) -> APIClient:
    client = APIClient()
    _token, key = PatientToken.issue(account)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def make_distributor(account, *, inviter: Distributor | None = None, name: str = "王分销") -> Distributor:
    """An approved distributor (through the application's state machine, reviewed if need be)."""
    application = Application.objects.create(
        hospital=account.hospital,
        account=account,
        name=name,
        phone="13900000000",
        inviter=inviter,
        agreement_accepted_at=timezone.now(),
    )
    application = transition_apply(obj=application, name="submit", actor=account)
    if application.state == "pending":
        transition_apply(obj=application, name="approve", actor=None)
    return Distributor.objects.select_related("hospital").get(account=account)


def buy(account, *products, share_code: str = "", pay: bool = True) -> Order:
    """An order of one of each product for the account's person, paid by balance card."""
    order = mall.order_create(
        account=account,
        patient=account.current_patient,
        lines=[mall.Line(product.pk, 1) for product in products],
        share_code=share_code,
    )
    if pay:
        mall.order_pay(order=order, account=account, method="balance", password=PASSWORD, client_ip="127.0.0.1")
    return Order.objects.get(pk=order.pk)


def complete(order: Order) -> Order:
    return transition_apply(obj=order, name="complete", actor=None)


def refund_before_completion(order: Order) -> Order:
    """The patient asks for a refund and the cashier approves it (balance: done at once)."""
    transition_apply(obj=order, name="request_refund", actor=order.account, data={"reason": "改期"})
    return transition_apply(obj=order, name="approve_refund", actor=None)


def refund_after_completion(order: Order) -> None:
    """Finance returns a completed order's money (the mall offers no refund after completion)."""
    from hcm.payments import services as payments

    payment = Payment.objects.get(payable_id=order.pk, payable_type__model="order")
    payments.payment_refund(payment=payment, reason="投诉退款", actor=None)


@pytest.fixture
def seller_account(hospital):
    return make_account(hospital, "oSeller", name="王分销", nickname="小王")


@pytest.fixture
def seller(seller_account):
    return make_distributor(seller_account)


@pytest.fixture
def leader(hospital):
    """The distributor who invited the seller (created first)."""
    return make_distributor(make_account(hospital, "oLeader", name="李团长", nickname="老李"), name="李团长")


@pytest.fixture
def buyer(hospital):
    return make_account(hospital, "oBuyer", name="赵顾客", nickname="顾客赵")


@pytest.fixture
def finance(hospital):
    return make_operator("finance_dist", hospital=hospital, role=Role.FINANCE)


@pytest.fixture
def cashier(hospital):
    return make_operator("cashier_dist", hospital=hospital, role=Role.CASHIER)

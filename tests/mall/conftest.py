"""A hospital selling checkups with every payment method, a bound patient with a balance card,
and WeChat Pay configured with the test merchant of tests/payments/wechat_fake.py."""

from decimal import Decimal

import pytest

from hcm.catalog.models import Category, Product
from hcm.patients.models import Binding, PatientRecord, PatientToken, WechatAccount
from hcm.wallet import services as wallet
from tests.conftest import make_hospital, make_operator
from tests.factories import id_number
from tests.payments import wechat_fake

SHOP = (
    """
payments:
  methods: [balance, at_hospital, wechat]
  unpaid_order_timeout: 30m
balance:
  password: {length: 6, lock_after_failures: 3, lock_for: 30m}
notifications:
  wechat_templates:
    order_placed: TPL-PLACED
    order_paid: TPL-PAID
    refund: TPL-REFUND
"""
    + wechat_fake.CONFIG
)


@pytest.fixture(autouse=True)
def wechat_secrets(monkeypatch):
    monkeypatch.setenv("TEST_WECHAT_API_KEY", wechat_fake.API_KEY)
    monkeypatch.setenv("TEST_WECHAT_SECRET", "app-secret")


@pytest.fixture
def hospital(db):
    return make_hospital("shop", name="商城医院", extra=SHOP)


def make_product(hospital, *, code: str, price: str, name: str = "入职体检套餐", published: bool = True) -> Product:
    category, _ = Category.objects.get_or_create(hospital=hospital, name="入职体检", defaults={"state": "published"})
    return Product.objects.create(
        hospital=hospital,
        category=category,
        kind=Product.Kind.SINGLE,
        name=name,
        code=code,
        price=Decimal(price),
        state="published" if published else "draft",
    )


@pytest.fixture
def package(hospital):
    return make_product(hospital, code="PKG-1", price="299.00")


@pytest.fixture
def eye_test(hospital):
    return make_product(hospital, code="EYE-1", price="45.50", name="视力检查")


@pytest.fixture
def patient(hospital):
    return PatientRecord.objects.create(
        hospital=hospital, medical_card_number="M1", name="尤小明", id_number=id_number(), phone="13812345678"
    )


@pytest.fixture
def account(hospital, patient):
    account = WechatAccount.objects.create(hospital=hospital, openid="oBuyer0001", current_patient=patient)
    Binding.objects.create(hospital=hospital, account=account, patient=patient)
    return account


@pytest.fixture
def card(patient):
    card = wallet.account_issue(patient=patient, password="246810", operator=None)
    wallet.account_credit(account=card, amount=Decimal("1000.00"), kind="adjustment", reference="test:opening")
    return card


@pytest.fixture
def buyer(account):
    from rest_framework.test import APIClient

    client = APIClient()
    _token, key = PatientToken.issue(account)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def cashier(hospital):
    from hcm.hospitals.roles import Role

    return make_operator("cashier_shop", hospital=hospital, role=Role.CASHIER)

"""A hospital with a strict payment-password policy, patients on file, cards, signed-in patients."""

from decimal import Decimal

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from hcm.hospitals.roles import Role
from hcm.patients.identity import id_number_check_digit
from hcm.patients.models import Binding, PatientRecord, WechatAccount
from hcm.wallet import services
from hcm.wallet.models import LedgerEntry
from tests.conftest import make_hospital, make_operator

POLICY = """
balance:
  password: {length: 6, lock_after_failures: 3, lock_for: 30m}
payments:
  methods: [balance]
"""


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in their English source text."""
    with translation.override("en"):
        yield


def id_number(serial: int) -> str:
    first17 = f"35032119900101{serial:03d}"
    return first17 + id_number_check_digit(first17)


def make_patient(hospital, *, card: str, name: str = "尤小明", serial: int = 125) -> PatientRecord:
    return PatientRecord.objects.create(
        hospital=hospital, medical_card_number=card, name=name, id_number=id_number(serial), phone="13812345678"
    )


def make_card(patient, *, password: str = "123456", balance: str | None = None, operator=None):
    account = services.account_issue(patient=patient, password=password, operator=operator)
    if balance:
        services.account_credit(account=account, amount=Decimal(balance), kind=LedgerEntry.Kind.ONLINE_RECHARGE)
    return account


def patient_client(hospital, patient, *, openid: str = "openid-me") -> APIClient:
    """An API client signed in as a WeChat account whose current person is `patient` (None: unbound)."""
    account = WechatAccount.objects.create(hospital=hospital, openid=openid)
    if patient is not None:
        Binding.objects.create(hospital=hospital, account=account, patient=patient)
        account.current_patient = patient
        account.save(update_fields=["current_patient"])
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(account)
    return client


@pytest.fixture
def hospital(db):
    return make_hospital("hospa", name="甲医院", extra=POLICY)


@pytest.fixture
def other_hospital(db):
    return make_hospital("hospb", name="乙医院", extra=POLICY)


@pytest.fixture
def patient(hospital):
    return make_patient(hospital, card="M0001")


@pytest.fixture
def cashier(hospital):
    return make_operator("cashier_a", hospital=hospital, role=Role.CASHIER)


@pytest.fixture
def account(patient, cashier):
    return make_card(patient, operator=cashier)

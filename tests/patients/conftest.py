"""Patients at two hospitals, records on file, and API clients signed in as a WeChat account."""

import pytest
from rest_framework.test import APIClient

from hcm.patients.models import Binding, PatientRecord, PatientToken, WechatAccount
from tests.conftest import make_hospital
from tests.factories import id_number

BINDING = """
binding:
  identify_by: [name, id_number, phone]
  max_bound_people: 2
integrations:
  wechat:
    sandbox: true
    app_id: wx0123456789abcdef
    app_secret_env: HOSPA_WECHAT_SECRET
"""


def signed_in(account: WechatAccount) -> APIClient:
    client = APIClient()
    _token, key = PatientToken.issue(account)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def record(hospital, *, card: str, name: str = "尤小明", number: str | None = None, phone: str = "13812345678"):
    return PatientRecord.objects.create(
        hospital=hospital, medical_card_number=card, name=name, id_number=number or id_number(), phone=phone
    )


def bind(account, patient, *, current: bool = True) -> Binding:
    binding = Binding.objects.create(hospital=account.hospital, account=account, patient=patient)
    if current:
        account.current_patient = patient
        account.save(update_fields=["current_patient"])
    return binding


@pytest.fixture
def hospital(db):
    return make_hospital("hospa", name="甲医院", extra=BINDING)


@pytest.fixture
def other_hospital(db):
    return make_hospital("hospb", name="乙医院", extra=BINDING.replace("hospa", "hospb").replace("0123", "9999"))


@pytest.fixture
def account(hospital):
    return WechatAccount.objects.create(hospital=hospital, openid="openid-me")


@pytest.fixture
def patient_api(account):
    return signed_in(account)


@pytest.fixture
def mother(hospital):
    return record(hospital, card="M0001", name="尤小明", number=id_number("19900101", 125), phone="13812345678")


@pytest.fixture
def child(hospital):
    return record(hospital, card="M0002", name="尤乐乐", number=id_number("20180601", 222), phone="13812345678")

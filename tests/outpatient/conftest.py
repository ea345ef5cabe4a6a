"""A hospital whose HIS is the fake HIS on loopback (the real HTTP adapter talks to it), with
a bound insured patient holding a balance card, another patient, and WeChat Pay's test merchant."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from hcm.his.fake import running_fake_his
from hcm.his.http import close_sessions
from hcm.patients.models import Binding, PatientRecord, PatientToken, WechatAccount
from hcm.wallet import services as wallet
from tests.conftest import make_hospital, make_operator
from tests.factories import id_number
from tests.payments import wechat_fake

CODE = "clinic"


def item(name: str, quantity: str, unit: str, unit_price: str) -> dict:
    return {"name": name, "quantity": quantity, "unit": unit, "unit_price": unit_price}


def rx(number: str, *, kind="western_medicine", department="内科", ago="1h", items=None, **extra) -> dict:
    return {
        "number": number,
        "kind": kind,
        "department": department,
        "doctor": "王医生",
        "created_ago": ago,
        "pay_code": "88" + number,
        "items": items or [item("阿莫西林胶囊 0.25g×24粒", "2", "盒", "50.00")],
        **extra,
    }


SEED = {
    "hospital": CODE,
    "patients": [
        {
            "his_patient_id": "H0001",
            "name": "尤小明",
            "medical_card_number": "M1",
            "phone": "13812345678",
            "id_number": "350302198603121094",
            "insured": True,
            "prescriptions": [
                rx("RX1"),  # 100.00, insurance 70.00, self-pay 30.00
                rx("RX2", kind="chinese_medicine", department="中医科", items=[item("黄芪 饮片", "100", "g", "0.50")]),
                rx("RX3", kind="treatment", department="检验科", items=[item("胸部CT平扫", "1", "次", "260.00")]),
                rx(
                    "RX4",
                    kind="treatment",
                    department="外科",
                    ago="2d",
                    pay_later=True,
                    items=[item("清创缝合术", "1", "次", "180.00")],
                ),
                rx("RX5", mergeable=False, items=[item("重组人脑利钠肽 0.5mg", "1", "支", "586.00")]),
                rx("RX6", ago="30h", items=[item("头孢克肟分散片 0.1g×6片", "1", "盒", "15.00")]),
            ],
        },
        {
            "his_patient_id": "H0002",
            "name": "林雅琴",
            "medical_card_number": "M2",
            "phone": "13900001342",
            "id_number": "350302198807211147",
            "insured": False,
            "prescriptions": [rx("RX21", department="儿科", items=[item("布洛芬混悬液 100ml:2g", "1", "瓶", "15.50")])],
        },
    ],
}

OUTPATIENT = {
    "prescription_validity": "24h",
    "merge": "{enabled: true, max_prescriptions: 3, same_department_only: false}",
    "pay_later": '{enabled: true, remind_at: "0 9 * * *", block_booking_while_unpaid: true}',
    "insurance": "{enabled: true}",
    "scan_to_pay_without_binding": "true",
}


def outpatient_yaml(**overrides: str) -> str:
    lines = "".join(f"  {key}: {value}\n" for key, value in {**OUTPATIENT, **overrides}.items())
    return f"""
payments:
  methods: [balance, at_hospital, wechat]
outpatient:
{lines}notifications:
  wechat_templates:
    refund: TPL-REFUND
    pay_later_reminder: TPL-REMIND
"""


CONFIG = outpatient_yaml()


def config(base_url: str, extra: str = CONFIG) -> str:
    his = f'\n  his: {{adapter: http, base_url: "{base_url}", timeout: 1s}}\n'
    return extra + wechat_fake.CONFIG.rstrip("\n") + his


@pytest.fixture(autouse=True)
def wechat_secrets(monkeypatch):
    monkeypatch.setenv("TEST_WECHAT_API_KEY", wechat_fake.API_KEY)
    monkeypatch.setenv("TEST_WECHAT_SECRET", "app-secret")


@pytest.fixture
def fake_his():
    with running_fake_his(SEED) as server:
        yield server
    close_sessions()


@pytest.fixture
def hospital(db, fake_his):
    return make_hospital(CODE, name="门诊医院", extra=config(fake_his.base_url))


def record(hospital, *, card: str, name: str, phone: str) -> PatientRecord:
    return PatientRecord.objects.create(
        hospital=hospital, medical_card_number=card, name=name, id_number=id_number(), phone=phone
    )


def client_for(account: WechatAccount) -> APIClient:
    client = APIClient()
    _token, key = PatientToken.issue(account)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def patient(hospital):
    return record(hospital, card="M1", name="尤小明", phone="13812345678")


@pytest.fixture
def account(hospital, patient):
    account = WechatAccount.objects.create(hospital=hospital, openid="oPatient001", current_patient=patient)
    Binding.objects.create(hospital=hospital, account=account, patient=patient)
    return account


@pytest.fixture
def card(patient):
    card = wallet.account_issue(patient=patient, password="246810", operator=None)
    wallet.account_credit(account=card, amount=Decimal("1000.00"), kind="adjustment", reference="test:opening")
    return card


@pytest.fixture
def patient_client(account):
    return client_for(account)


@pytest.fixture
def stranger(hospital):
    """A WeChat user of the same hospital who never bound anyone."""
    return WechatAccount.objects.create(hospital=hospital, openid="oStranger01")


@pytest.fixture
def cashier(hospital):
    from hcm.hospitals.roles import Role

    return make_operator("cashier_clinic", hospital=hospital, role=Role.CASHIER)


@pytest.fixture
def finance(hospital):
    from hcm.hospitals.roles import Role

    return make_operator("finance_clinic", hospital=hospital, role=Role.FINANCE)

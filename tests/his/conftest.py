"""A fake HIS on loopback with a small known seed, and our real HTTP adapter pointed at it."""

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from hcm.his.fake import running_fake_his
from hcm.his.http import HttpHisAdapter, RequestsTransport, close_sessions

CHINA = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 1, 10, 0, tzinfo=CHINA)
HOSPITAL = "hisa"


def item(name: str, quantity: str, unit: str, unit_price: str) -> dict:
    return {"name": name, "quantity": quantity, "unit": unit, "unit_price": unit_price}


SEED = {
    "hospital": HOSPITAL,
    "patients": [
        {
            "his_patient_id": "P1",
            "name": "张三",
            "medical_card_number": "M001",
            "phone": "13800000001",
            "id_number": "11010119900101123X",
            "insured": True,
            "prescriptions": [
                {
                    "number": "RX1",
                    "kind": "western_medicine",
                    "department": "内科",
                    "doctor": "王医生",
                    "created_at": "2026-03-01T09:00:00+08:00",
                    "pay_code": "880001",
                    "items": [
                        item("阿莫西林胶囊 0.25g×24粒", "2", "盒", "18.60"),
                        item("复方甘草片 100片", "1", "瓶", "6.95"),
                    ],
                },
                {
                    "number": "RX2",
                    "kind": "chinese_medicine",
                    "department": "中医科",
                    "doctor": "李医生",
                    "created_at": "2026-03-01T09:10:00+08:00",
                    "pay_code": "880002",
                    "items": [item("黄芪 饮片", "105", "g", "0.12"), item("中药代煎费", "7", "剂", "3.00")],
                },
                {
                    "number": "RX3",
                    "kind": "treatment",
                    "department": "检验科",
                    "doctor": "王医生",
                    "created_at": "2026-03-01T09:20:00+08:00",
                    "pay_code": "880003",
                    "items": [item("血常规", "1", "次", "25.00"), item("胸部CT平扫", "1", "次", "260.00")],
                },
                {
                    "number": "RX4",
                    "kind": "treatment",
                    "department": "外科",
                    "doctor": "赵医生",
                    "created_at": "2026-02-27T15:00:00+08:00",
                    "pay_code": "880004",
                    "pay_later": True,
                    "items": [item("清创缝合术", "1", "次", "180.00")],
                },
                {
                    "number": "RX5",
                    "kind": "western_medicine",
                    "department": "内科",
                    "doctor": "王医生",
                    "created_at": "2026-03-01T09:30:00+08:00",
                    "pay_code": "880005",
                    "mergeable": False,
                    "items": [item("重组人脑利钠肽 0.5mg", "1", "支", "586.00")],
                },
                {
                    "number": "RX9",
                    "kind": "western_medicine",
                    "department": "内科",
                    "doctor": "王医生",
                    "created_at": "2026-02-20T09:00:00+08:00",
                    "pay_code": "880009",
                    "items": [item("头孢克肟分散片 0.1g×6片", "1", "盒", "15.00")],
                    "settlement": {
                        "receipt_number": "SF0009",
                        "settled_at": "2026-02-20T10:00:00+08:00",
                        "insurance_amount": "10.50",
                    },
                },
            ],
        },
        {
            "his_patient_id": "P2",
            "name": "李四",
            "medical_card_number": "M002",
            "phone": "13800000002",
            "id_number": "110101199202021234",
            "insured": False,
            "prescriptions": [
                {
                    "number": "RX21",
                    "kind": "western_medicine",
                    "department": "儿科",
                    "doctor": "周医生",
                    "created_at": "2026-03-01T08:00:00+08:00",
                    "pay_code": "880021",
                    "items": [item("布洛芬混悬液 100ml:2g", "1", "瓶", "15.50")],
                },
            ],
        },
    ],
}


def _fake_his_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "fake-his" or "process_request" in t.name]


@pytest.fixture
def fake_his():
    """The fake HIS with SEED and a fixed clock; after the test no server thread is left."""
    with running_fake_his(SEED, clock=lambda: NOW) as server:
        yield server
    close_sessions()
    assert _fake_his_threads() == []


def make_adapter(base_url: str, *, timeout: float = 2.0, retries: int = 2) -> HttpHisAdapter:
    return HttpHisAdapter(
        hospital_code=HOSPITAL, transport=RequestsTransport(base_url), timeout=timeout, retries=retries
    )


@pytest.fixture
def his(fake_his) -> HttpHisAdapter:
    return make_adapter(fake_his.base_url)


def settle_one(his: HttpHisAdapter, number: str, *, reference: str = "PAY-1", insurance: bool = False):
    """Pre-settle and settle one prescription of P1, as the outpatient app will."""
    pre = his.pre_settle(his_patient_id="P1", numbers=[number], insurance=insurance)
    return his.settle(
        his_patient_id="P1",
        number=number,
        pre_settle_id=pre.pre_settle_id,
        payment_reference=reference,
        self_pay_amount=pre.line(number).self_pay_amount,
    )

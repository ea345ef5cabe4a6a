"""A hospital whose HIS is the fake HIS on loopback (the real HTTP adapter talks to it), holding
reports of two people on the platform and one who is not; an account bound to both people
(the first is current), a neighbour bound to the second only, and a stranger bound to nobody."""

import json
import time

import pytest
from rest_framework.test import APIClient

from hcm.his.fake import running_fake_his
from hcm.his.http import close_sessions
from hcm.patients.models import Binding, PatientRecord, PatientToken, WechatAccount
from hcm.reports import services
from tests.conftest import make_hospital
from tests.factories import id_number

CODE = "rpt"
PUSH_SECRET = "push-secret-for-tests"
PUSH = f"/api/v1/{CODE}/reports/his-push/"
API = f"/api/v1/{CODE}/patient/reports/"


def item(name: str, value: str, unit: str, reference: str, abnormal: str = "") -> dict:
    return {"name": name, "value": value, "unit": unit, "reference_range": reference, "abnormal": abnormal}


def checkup(number: str, *, ago: str = "2d", has_pdf: bool = True, title: str = "年度健康体检报告") -> dict:
    return {
        "report_number": number,
        "title": title,
        "checkup_ago": "9d",
        "reported_ago": ago,
        "summary": "轻度脂肪肝，血脂偏高。",
        "sections": [
            {"name": "一般检查", "findings": "血压 138/88 mmHg。"},
            {"name": "腹部彩超", "findings": "肝脏回声增强，符合轻度脂肪肝。"},
        ],
        "conclusions": ["轻度脂肪肝", "血脂异常"],
        "has_pdf": has_pdf,
    }


def exam(number: str, *, ago: str = "1h", name: str = "血常规") -> dict:
    return {
        "result_number": number,
        "name": name,
        "department": "检验科",
        "sampled_ago": "3h",
        "reported_ago": ago,
        "items": [
            item("白细胞计数", "11.2", "10^9/L", "3.5-9.5", "high"),
            item("淋巴细胞百分比", "15.2", "%", "20-50", "low"),
            item("血红蛋白", "148", "g/L", "130-175"),
        ],
    }


def person(his_id: str, name: str, card: str, phone: str, id_no: str) -> dict:
    return {"his_patient_id": his_id, "name": name, "medical_card_number": card, "phone": phone, "id_number": id_no}


SEED = {
    "hospital": CODE,
    "patients": [
        {
            **person("H0001", "尤小明", "M1", "13812345678", "350302198603121094"),
            "checkup_reports": [checkup("TJ1"), checkup("TJ0", ago="400d", has_pdf=False, title="入职体检报告")],
            "exam_results": [exam("JY1", ago="1h"), exam("JY2", ago="30m", name="C反应蛋白测定")],
        },
        {
            **person("H0002", "林雅琴", "M2", "13900001342", "350302198807211147"),
            "checkup_reports": [checkup("TJ21", ago="3h", title="女性健康体检报告")],
            "exam_results": [exam("JY21", ago="2h")],
        },
        {  # never came to the platform: the HIS's reports of this person are not kept
            **person("H0003", "郑志强", "M3", "18650213378", "350302197505051438"),
            "exam_results": [exam("JY31", ago="1h")],
        },
    ],
}


def config(base_url: str) -> str:
    return f"""
notifications:
  wechat_templates:
    report_ready: TPL-REPORT
integrations:
  his: {{adapter: http, base_url: "{base_url}", timeout: 2s, push_secret_env: RPT_HIS_PUSH_SECRET}}
"""


@pytest.fixture(autouse=True)
def private_files(settings, tmp_path, monkeypatch):
    """Report PDFs go to a fresh private directory; the push secret is in the environment."""
    settings.HCM_PRIVATE_FILES_DIR = tmp_path / "private"
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setenv("RPT_HIS_PUSH_SECRET", PUSH_SECRET)
    return settings.HCM_PRIVATE_FILES_DIR


@pytest.fixture
def fake_his():
    with running_fake_his(json.loads(json.dumps(SEED))) as server:
        yield server
    close_sessions()


@pytest.fixture
def hospital(db, fake_his):
    return make_hospital(CODE, name="报告医院", extra=config(fake_his.base_url))


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
def relative(hospital):
    return record(hospital, card="M2", name="林雅琴", phone="13900001342")


@pytest.fixture
def account(hospital, patient, relative):
    """Bound to both people; the first is the current one."""
    account = WechatAccount.objects.create(hospital=hospital, openid="oPatient001", current_patient=patient)
    Binding.objects.create(hospital=hospital, account=account, patient=patient)
    Binding.objects.create(hospital=hospital, account=account, patient=relative, relation=Binding.Relation.SPOUSE)
    return account


@pytest.fixture
def neighbour(hospital, relative):
    """Bound to the second person only."""
    neighbour = WechatAccount.objects.create(hospital=hospital, openid="oNeighbour1", current_patient=relative)
    Binding.objects.create(hospital=hospital, account=neighbour, patient=relative)
    return neighbour


@pytest.fixture
def stranger(hospital):
    return WechatAccount.objects.create(hospital=hospital, openid="oStranger01")


@pytest.fixture
def patient_client(account):
    return client_for(account)


def signed(body: dict | bytes, *, secret: str = PUSH_SECRET, timestamp: str | None = None) -> tuple[bytes, str]:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")
    return raw, services.push_signature(secret=secret, body=raw, timestamp=timestamp or now_stamp())


def now_stamp() -> str:
    return str(int(time.time()))


def push(
    client,
    body: dict | bytes,
    *,
    signature: str | None = None,
    secret: str = PUSH_SECRET,
    timestamp: str | None = None,
):
    timestamp = timestamp or now_stamp()
    raw, good = signed(body, secret=secret, timestamp=timestamp)
    headers = {"HTTP_X_HIS_TIMESTAMP": timestamp}
    if signature != "":
        headers["HTTP_X_HIS_SIGNATURE"] = good if signature is None else signature
    return client.post(PUSH, raw, content_type="application/json", **headers)

"""The fake HIS itself: its wire format, control endpoints, loopback only, the command, demo seeds."""

import csv
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from hcm.his.fake import FakeHisServer, demo_seed_paths
from hcm.his.fake_store import FakeHisStore, load_seed
from tests.his.conftest import SEED, make_adapter, settle_one


def raw(server, method: str, path: str, body: dict | None = None, hospital: str | None = "hisa"):
    """(status, JSON) of a request made without our adapter, to see the wire itself."""
    request = urllib.request.Request(
        server.base_url + path, data=json.dumps(body).encode() if body is not None else None, method=method
    )
    if hospital:
        request.add_header("X-Hospital", hospital)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_money_travels_as_strings_with_two_decimals(fake_his):
    status, body = raw(fake_his, "GET", "/prescriptions/by-code/880002")

    assert status == 200
    assert body["prescription"]["amount"] == "33.60"
    assert body["prescription"]["items"][0] == {
        "name": "黄芪 饮片",
        "quantity": "105",
        "unit": "g",
        "unit_price": "0.12",
        "amount": "12.60",
    }
    assert body["prescription"]["created_at"] == "2026-03-01T09:10:00+08:00"


def test_refusals_carry_a_code_and_a_message(fake_his):
    assert raw(fake_his, "GET", "/prescriptions/by-code/nope") == (
        404,
        {"code": "prescription_not_found", "message": "处方不存在"},
    )
    assert raw(fake_his, "GET", "/prescriptions/by-code/880001", hospital=None)[1]["code"] == "invalid_request"
    assert raw(fake_his, "GET", "/prescriptions/by-code/880001", hospital="other")[1]["code"] == "unknown_hospital"
    assert raw(fake_his, "POST", "/settlements", {"number": 1})[0] == 400


def test_unknown_switch_is_refused_and_nothing_changes(fake_his):
    status, body = raw(fake_his, "POST", "/_control", {"latency": 5})

    assert (status, body["code"]) == (400, "invalid_request")
    assert fake_his.state()["switches"]["latency_ms"] == 0


def test_prescriptions_added_at_run_time_can_be_merged(his, fake_his):
    added = fake_his.add_prescriptions(
        hospital="hisa",
        his_patient_id="P2",
        prescriptions=[
            {
                "number": f"RX2{n}",
                "kind": "treatment",
                "department": "检验科",
                "doctor": "周医生",
                "items": [{"name": "血常规", "quantity": "1", "unit": "次", "unit_price": "25.00"}],
            }
            for n in (2, 3, 4)
        ],
    )

    pre = his.pre_settle(his_patient_id="P2", numbers=["RX21", *added], insurance=False)

    assert added == ["RX22", "RX23", "RX24"]
    assert pre.amount == Decimal("90.50")
    assert fake_his.state()["hospitals"]["hisa"]["prescriptions"][-1]["created_at"] == "2026-03-01T10:00:00+08:00"


def test_reset_reseeds_and_restores_the_switches(his, fake_his):
    settle_one(his, "RX1")
    fake_his.control(fail_next=3, fail_settle_numbers=["RX2"])

    fake_his.reset()

    assert [p.number for p in his.unpaid_prescriptions(his_patient_id="P1")] == ["RX4", "RX1", "RX2", "RX3", "RX5"]
    assert fake_his.state()["switches"]["fail_settle_numbers"] == []
    assert settle_one(his, "RX2").receipt_number == "R00000001"


def test_state_shows_switches_requests_and_data(his, fake_his):
    his.find_patient(medical_card_number="M002")

    state = fake_his.state()

    assert state["requests"] == ["POST /patients/search"]
    assert state["switches"] == {
        "latency_ms": 0,
        "error_rate": 0.0,
        "fail_next": 0,
        "fail_settle_numbers": [],
        "timeout_after_settle": [],
        "timeout_before_settle": [],
        "slow_seconds": 3.0,
    }
    assert [p["his_patient_id"] for p in state["hospitals"]["hisa"]["patients"]] == ["P1", "P2"]


def test_seed_with_a_wrong_total_is_refused():
    bad = json.loads(json.dumps(SEED))
    bad["patients"][1]["prescriptions"][0]["amount"] = "16.00"

    with pytest.raises(ValueError, match=r"RX21 says 16\.00, its items 15\.50"):
        FakeHisStore([bad])


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com"])
def test_the_server_refuses_a_non_loopback_host(host):
    with pytest.raises(ValueError, match="loopback only"):
        FakeHisServer(host=host)


def test_the_command_refuses_a_non_loopback_host():
    with pytest.raises(CommandError, match="loopback only"):
        call_command("fake_his", host="0.0.0.0", port=0)


def test_the_command_serves_until_interrupted(tmp_path: Path):
    seed = tmp_path / "hisa" / "his.json"
    seed.parent.mkdir()
    seed.write_text(json.dumps(SEED), encoding="utf-8")
    command = [sys.executable, "manage.py", "fake_his", "--port", "0", "--seed", str(seed), "--fail-settle", "RX1"]
    env = {**os.environ, "DEBUG": "1", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, text=True)
    try:
        banner = process.stdout.readline()
        base_url = banner.split(" listening on ")[1].split()[0]
        his = make_adapter(base_url)

        assert banner.startswith("Fake HIS for hisa listening on http://127.0.0.1:")
        assert his.find_patient(medical_card_number="M002").name == "李四"
        with urllib.request.urlopen(base_url + "/_control/state", timeout=5) as response:
            assert json.loads(response.read())["switches"]["fail_settle_numbers"] == ["RX1"]
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert output.strip() == "Fake HIS stopped."


def test_every_demo_patient_has_a_his_record_with_the_same_details():
    assert [path.parent.name for path in demo_seed_paths()] == ["ptdemo", "xmchild"]
    for path in demo_seed_paths():
        document = load_seed(path)
        with (path.parent / "patients.csv").open(encoding="utf-8") as rows:
            expected = {row["medical_card_number"]: row for row in csv.DictReader(rows)}
        store = FakeHisStore([document])  # also checks every total against its items
        for card, row in expected.items():
            [patient] = store.search_patients(document["hospital"], {"medical_card_number": card})
            assert (patient.name, patient.id_number, patient.phone) == (row["name"], row["id_number"], row["phone"])


def test_demo_seeds_have_every_kind_pay_later_unmergeable_and_paid_bills():
    document = load_seed(settings.HCM_FIXTURES_DIR / "ptdemo" / "his.json")
    prescriptions = [p for patient in document["patients"] for p in patient["prescriptions"]]

    assert {p["kind"] for p in prescriptions} == {"western_medicine", "chinese_medicine", "treatment"}
    assert sum(p["pay_later"] and "settlement" not in p for p in prescriptions) >= 2
    assert sum(not p["mergeable"] for p in prescriptions) >= 1
    assert sum("settlement" in p for p in prescriptions) >= 3
    assert len({p["pay_code"] for p in prescriptions}) == len(prescriptions)

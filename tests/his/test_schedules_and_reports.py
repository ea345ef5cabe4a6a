"""Doctor schedules and reports through the real HTTP adapter and the fake HIS: slots from weekly
rotas and dated entries, checkup reports with their PDF, examination results, new reports of
every patient in one call, and answers outside the protocol."""

import csv
import json
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.conf import settings

from hcm.his.contract import (
    CheckupSection,
    ExamItem,
    HisCheckupReport,
    HisExamResult,
    HisRefused,
    HisScheduleSlot,
    HisUnavailable,
)
from hcm.his.fake import running_fake_his
from hcm.his.fake_store import FakeHisStore, load_seed
from hcm.his.http import HttpHisAdapter, close_sessions
from tests.his.conftest import CHINA, HOSPITAL, NOW, SEED, make_adapter

MONDAY = date(2026, 3, 2)  # NOW is Sunday 2026-03-01 10:00 in China

CHECKUP = {
    "report_number": "TJ001",
    "title": "年度健康体检报告",
    "checkup_date": "2026-02-20",
    "reported_at": "2026-02-25T16:00:00+08:00",
    "summary": "轻度脂肪肝，血脂偏高。",
    "sections": [{"name": "腹部彩超", "findings": "肝脏回声增强，符合轻度脂肪肝。"}],
    "conclusions": ["轻度脂肪肝", "血脂异常"],
}
BLOOD_COUNT = {
    "result_number": "JY001",
    "name": "血常规",
    "department": "检验科",
    "sampled_at": "2026-03-01T08:10:00+08:00",
    "reported_ago": "30m",
    "items": [
        {"name": "白细胞计数", "value": "11.2", "unit": "10^9/L", "reference_range": "3.5-9.5", "abnormal": "high"},
        {"name": "血红蛋白", "value": "148", "unit": "g/L", "reference_range": "130-175"},
    ],
}
ROTA = {
    "doctor_code": "D01",
    "doctor_name": "王医生",
    "department": "内科",
    "weekdays": [1],
    "sessions": ["morning", "evening"],
    "capacity": 5,
    "fee": "50",
    "slot_minutes": 120,
}


def records_seed() -> dict:
    seed = json.loads(json.dumps(SEED))
    seed["patients"][0]["checkup_reports"] = [CHECKUP, {**CHECKUP, "report_number": "TJ000", "has_pdf": False}]
    seed["patients"][0]["checkup_reports"][1]["reported_at"] = "2025-02-25T16:00:00+08:00"
    seed["patients"][0]["exam_results"] = [BLOOD_COUNT]
    seed["schedules"] = [ROTA]
    return seed


@pytest.fixture
def fake_his():
    with running_fake_his(records_seed(), clock=lambda: NOW) as server:
        yield server
    close_sessions()


@pytest.fixture
def his(fake_his) -> HttpHisAdapter:
    return make_adapter(fake_his.base_url)


def slot(start: str, end: str, session: str, *, day: date = MONDAY, capacity: int = 5) -> HisScheduleSlot:
    return HisScheduleSlot(
        his_slot_id=f"D01-{day:%Y%m%d}-{start.replace(':', '')}",
        doctor_code="D01",
        doctor_name="王医生",
        department="内科",
        date=day,
        session=session,
        start_time=time.fromisoformat(start),
        end_time=time.fromisoformat(end),
        capacity=capacity,
        fee=Decimal("50.00"),
    )


def test_a_weekly_rota_offers_slots_on_its_days_cut_into_its_slot_length(his, fake_his):
    slots = his.doctor_schedules(start=MONDAY - timedelta(days=1), end=MONDAY + timedelta(days=7))

    assert slots == [
        slot("08:00", "10:00", "morning"),
        slot("10:00", "12:00", "morning"),
        slot("18:30", "20:30", "evening"),
        slot("20:30", "21:00", "evening"),  # the session ends at 21:00
        slot("08:00", "10:00", "morning", day=MONDAY + timedelta(days=7)),
        slot("10:00", "12:00", "morning", day=MONDAY + timedelta(days=7)),
        slot("18:30", "20:30", "evening", day=MONDAY + timedelta(days=7)),
        slot("20:30", "21:00", "evening", day=MONDAY + timedelta(days=7)),
    ]
    assert fake_his.requests == ["GET /schedules"]


def test_a_dated_slot_replaces_the_rota_slot_with_its_id_and_adds_to_other_days(his, fake_his):
    base = {k: ROTA[k] for k in ("doctor_code", "doctor_name", "department", "fee")}
    added = fake_his.add_schedules(
        hospital=HOSPITAL,
        schedules=[
            {
                **base,
                "date": "2026-03-02",
                "session": "morning",
                "start_time": "08:00",
                "end_time": "10:00",
                "capacity": 0,
            },
            {
                **base,
                "days_ahead": 2,
                "session": "afternoon",
                "start_time": "14:00",
                "end_time": "15:30",
                "capacity": 8,
            },
        ],
    )

    slots = his.doctor_schedules(start=MONDAY, end=MONDAY + timedelta(days=1))

    assert added == ["D01-20260302-0800", "D01-20260303-1400"]
    assert [(s.his_slot_id, s.capacity) for s in slots] == [
        ("D01-20260302-0800", 0),  # the clinic of that morning is cancelled
        ("D01-20260302-1000", 5),
        ("D01-20260302-1830", 5),
        ("D01-20260302-2030", 5),
        ("D01-20260303-1400", 8),
    ]
    assert slots[-1] == slot("14:00", "15:30", "afternoon", day=MONDAY + timedelta(days=1), capacity=8)


@pytest.mark.parametrize(
    ("start", "end"), [(MONDAY, MONDAY - timedelta(days=1)), (MONDAY, MONDAY + timedelta(days=92))]
)
def test_schedules_of_a_backward_or_too_long_period_are_refused(his, start, end):
    with pytest.raises(HisRefused) as refused:
        his.doctor_schedules(start=start, end=end)

    assert refused.value.code == "invalid_request"


def test_checkup_reports_of_a_patient_newest_first_with_sections_and_conclusions(his):
    reports = his.checkup_reports(his_patient_id="P1")

    assert [r.report_number for r in reports] == ["TJ001", "TJ000"]
    assert reports[0] == HisCheckupReport(
        report_number="TJ001",
        his_patient_id="P1",
        medical_card_number="M001",
        title="年度健康体检报告",
        checkup_date=date(2026, 2, 20),
        summary="轻度脂肪肝，血脂偏高。",
        sections=(CheckupSection(name="腹部彩超", findings="肝脏回声增强，符合轻度脂肪肝。"),),
        conclusions=("轻度脂肪肝", "血脂异常"),
        has_pdf=True,
        reported_at=datetime(2026, 2, 25, 16, tzinfo=CHINA),
    )
    assert his.checkup_reports(his_patient_id="P2") == []


def test_exam_results_of_a_patient_with_items_and_abnormal_flags(his):
    [result] = his.exam_results(his_patient_id="P1")

    assert result == HisExamResult(
        result_number="JY001",
        his_patient_id="P1",
        medical_card_number="M001",
        name="血常规",
        department="检验科",
        sampled_at=datetime(2026, 3, 1, 8, 10, tzinfo=CHINA),
        reported_at=NOW - timedelta(minutes=30),
        items=(
            ExamItem(name="白细胞计数", value="11.2", unit="10^9/L", reference_range="3.5-9.5", abnormal="high"),
            ExamItem(name="血红蛋白", value="148", unit="g/L", reference_range="130-175", abnormal=""),
        ),
    )


def test_reports_of_an_unknown_patient_are_refused_as_not_found(his):
    with pytest.raises(HisRefused) as refused:
        his.exam_results(his_patient_id="NOBODY")

    assert (refused.value.code, refused.value.status) == ("patient_not_found", 404)


def test_reports_since_finds_every_patients_new_reports_in_one_call(his, fake_his):
    fake_his.add_reports(
        hospital=HOSPITAL,
        his_patient_id="P2",
        checkup_reports=[{**CHECKUP, "report_number": "TJ201", "reported_at": None, "reported_ago": "10m"}],
        exam_results=[{**BLOOD_COUNT, "result_number": "JY201", "reported_ago": None}],
    )

    new = his.reports_since(since=NOW - timedelta(hours=1))

    assert [(r.report_number, r.his_patient_id) for r in new.checkup_reports] == [("TJ201", "P2")]
    assert [(r.result_number, r.his_patient_id, r.reported_at) for r in new.exam_results] == [
        ("JY001", "P1", NOW - timedelta(minutes=30)),
        ("JY201", "P2", NOW),  # added without a time: ready now
    ]
    assert fake_his.requests == ["GET /reports"]
    assert his.reports_since(since=NOW + timedelta(seconds=1)).exam_results == ()


def test_adding_a_report_whose_number_exists_is_refused_and_adds_nothing(fake_his, his):
    with pytest.raises(Exception, match="400"):
        fake_his.add_reports(hospital=HOSPITAL, his_patient_id="P2", exam_results=[BLOOD_COUNT])

    assert his.exam_results(his_patient_id="P2") == []


def test_a_revised_report_keeps_its_number_and_ready_time_and_carries_a_later_updated_at(his, fake_his):
    original = his.checkup_reports(his_patient_id="P1")[0]
    assert original.updated_at == original.reported_at  # never changed: its version is when it became ready

    fake_his.revise_reports(
        hospital=HOSPITAL, his_patient_id="P1", checkup_reports=[{**CHECKUP, "summary": "复核：轻度脂肪肝。"}]
    )

    revised = his.checkup_reports(his_patient_id="P1")[0]
    assert (revised.report_number, revised.summary) == ("TJ001", "复核：轻度脂肪肝。")
    assert revised.reported_at == original.reported_at and revised.updated_at == NOW > original.updated_at
    changed = his.reports_since(since=NOW - timedelta(minutes=1))
    assert [r.report_number for r in changed.checkup_reports] == ["TJ001"]  # ready 4 days ago, changed now
    assert changed.checkup_reports[0].updated_at == NOW


def test_only_the_patients_existing_reports_can_be_revised(fake_his, his):
    for patient, entry in (("P2", CHECKUP), ("P1", {**CHECKUP, "report_number": "TJ999"})):
        with pytest.raises(Exception, match="400"):
            fake_his.revise_reports(hospital=HOSPITAL, his_patient_id=patient, checkup_reports=[entry])

    assert his.checkup_reports(his_patient_id="P1")[0].summary == CHECKUP["summary"]
    assert his.checkup_reports(his_patient_id="P2") == []


def test_updated_at_travels_on_the_wire_is_optional_and_needs_its_offset():
    from hcm.his.wire import WireError
    from hcm.his.wire_reports import checkup_report_from_wire, checkup_report_to_wire

    wire = {**CHECKUP, "his_patient_id": "P1", "medical_card_number": "M001", "has_pdf": True}
    unchanged = checkup_report_from_wire(wire)
    corrected = checkup_report_from_wire({**wire, "updated_at": "2026-02-26T09:30:00+08:00"})

    assert unchanged.updated_at == unchanged.reported_at
    assert corrected.updated_at == datetime(2026, 2, 26, 9, 30, tzinfo=CHINA)
    assert checkup_report_from_wire(checkup_report_to_wire(corrected)) == corrected
    with pytest.raises(WireError, match="updated_at"):
        checkup_report_from_wire({**wire, "updated_at": "2026-02-26T09:30:00"})


def test_report_pdf_is_a_valid_pdf_document(his):
    pdf = his.report_pdf(report_number="TJ001")

    assert pdf.startswith(b"%PDF-1.4\n") and pdf.endswith(b"%%EOF\n")
    xref_at = int(re.search(rb"startxref\n(\d+)\n", pdf).group(1))
    assert pdf[xref_at:].startswith(b"xref\n0 8\n")
    offsets = [int(line[:10]) for line in pdf[xref_at:].split(b"\n")[3:10]]
    assert [pdf[offset:].split(b"\n", 1)[0] for offset in offsets] == [f"{n} 0 obj".encode() for n in range(1, 8)]
    length = int(re.search(rb"/Length (\d+)", pdf).group(1))
    stream = pdf.split(b"stream\n", 1)[1]
    assert stream[length:].startswith(b"\nendstream")
    assert "年度健康体检报告".encode("utf-16-be").hex().upper().encode() in stream


def test_the_pdf_of_a_report_without_one_is_refused_as_not_found(his):
    for number in ("TJ000", "NOPE"):
        with pytest.raises(HisRefused) as refused:
            his.report_pdf(report_number=number)
        assert (refused.value.code, refused.value.status) == ("report_not_found", 404)


class StubTransport:
    def __init__(self, body):
        self.body = body

    def exchange(self, **request):
        return 200, self.body


@pytest.mark.parametrize(
    ("call", "body"),
    [
        ("exam_results", {"exam_results": [{**BLOOD_COUNT, "items": [{"name": "x", "abnormal": "very"}]}]}),
        ("checkup_reports", {"checkup_reports": [{**CHECKUP, "checkup_date": "20/02/2026"}]}),
        ("report_pdf", {"pdf_base64": "PGh0bWw+"}),  # "<html>": not a PDF
        ("doctor_schedules", {"slots": [{"his_slot_id": "S1", "session": "night"}]}),
        ("reports_since", {"checkup_reports": []}),  # exam_results missing
    ],
)
def test_an_answer_outside_the_protocol_is_unavailable(call, body):
    his = HttpHisAdapter(hospital_code=HOSPITAL, transport=StubTransport(body), timeout=1)
    arguments = {
        "exam_results": {"his_patient_id": "P1"},
        "checkup_reports": {"his_patient_id": "P1"},
        "report_pdf": {"report_number": "TJ001"},
        "doctor_schedules": {"start": MONDAY, "end": MONDAY},
        "reports_since": {"since": NOW},
    }[call]

    with pytest.raises(HisUnavailable):
        getattr(his, call)(**arguments)


def test_demo_seeds_schedule_every_demo_doctor_and_hold_reports():
    for path in sorted(settings.HCM_FIXTURES_DIR.glob("*/his.json")):
        document = load_seed(path)
        code = document["hospital"]
        store = FakeHisStore([document])
        today = datetime.now(CHINA).date()
        slots = store.schedules(code, today, today + timedelta(days=6))
        with (path.parent / "doctors.csv").open(encoding="utf-8") as rows:
            doctors = {(row["name"], row["department"]) for row in csv.DictReader(rows)}

        assert {(s.doctor_name, s.department) for s in slots} == doctors
        assert {s.session for s in slots} == {"morning", "afternoon", "evening"}
        assert all(s.fee > 0 and s.capacity > 0 for s in slots)
        reports = store.reports_since(code, datetime(2000, 1, 1, tzinfo=CHINA))
        assert reports.checkup_reports and reports.exam_results
        assert any(item.abnormal for r in reports.exam_results for item in r.items)
        with_pdf = next(r for r in reports.checkup_reports if r.has_pdf)
        assert store.report_pdf(code, with_pdf.report_number).startswith(b"%PDF-")

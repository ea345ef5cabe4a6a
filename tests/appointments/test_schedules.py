"""Schedules: imported by operators from spreadsheets (doctors named within their hospital),
synchronised from the HIS (upsert by HIS slot id, capacity never below the places booked,
unknown doctors skipped and counted), and shown on the public doctor page with places left."""

import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import openpyxl
import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import ProtectedError
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hcm.appointments import services, tasks
from hcm.appointments.models import Booking, ScheduleSlot
from hcm.his.contract import HisUnavailable
from tests.appointments.conftest import API, CODE, make_account, make_doctor, make_record, make_slot, tomorrow
from tests.conftest import make_operator, staff_client
from tests.openapi import conforming_answer

CHANGELIST = "/admin/appointments/scheduleslot/"
HEADER = ["doctor", "date", "session", "start_time", "end_time", "capacity", "fee"]


# --- Import -----------------------------------------------------------------------------------


@pytest.fixture
def operator(hospital):
    return make_operator("admin_clinic", hospital=hospital)


def logged_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def upload(client, name: str, content: bytes, format_name: str):
    """Upload, preview, and confirm when the preview is clean; returns the preview's result."""
    formats = [f.__name__ for f in admin.site._registry[ScheduleSlot].get_import_formats()]
    preview = client.post(
        f"{CHANGELIST}import/",
        {"resource": "0", "format": str(formats.index(format_name)), "import_file": SimpleUploadedFile(name, content)},
    )
    assert preview.status_code == 200
    result = preview.context["result"]
    if not (result.has_errors() or result.has_validation_errors()):
        assert client.post(f"{CHANGELIST}process_import/", preview.context["confirm_form"].initial).status_code == 302
    return result


def csv(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(row) for row in [HEADER, *rows]).encode("utf-8")


def xlsx(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in [HEADER, *rows]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_xlsx_schedule_creates_slots_of_doctors_named_within_the_hospital(hospital, hospital_b, operator, doctor):
    make_doctor(hospital_b, "王建国")  # the same name at another hospital is never picked
    day = tomorrow()
    rows = [
        ["王建国", day, "Morning", time(8, 0), time(8, 30), 5, 50],  # a label (上午 once translated) or a value
        ["王建国", day, "afternoon", time(14, 0), time(14, 30), 3, "50.00"],
    ]

    result = upload(logged_in(operator), "schedule.xlsx", xlsx(rows), "XLSX")

    assert not result.has_errors() and not result.has_validation_errors(), result.invalid_rows
    slots = list(ScheduleSlot.objects.order_by("start_time"))
    assert [(s.hospital, s.doctor, s.date, s.session, s.start_time, s.capacity, s.fee, s.booked) for s in slots] == [
        (hospital, doctor, day, "morning", time(8, 0), 5, Decimal("50.00"), 0),
        (hospital, doctor, day, "afternoon", time(14, 0), 3, Decimal("50.00"), 0),
    ]


def test_a_csv_reimport_updates_the_same_slots_and_never_drops_capacity_below_the_booked(
    hospital, operator, doctor, account
):
    day = tomorrow().isoformat()
    client = logged_in(operator)
    upload(client, "schedule.csv", csv([["王建国", day, "morning", "09:00", "09:30", "2", "50.00"]]), "CSV")
    slot = ScheduleSlot.objects.get()
    services.booking_create_expert(account=account, slot_id=slot.pk)
    other = make_account(hospital, "oOther", make_record(hospital, card="M2"))
    services.booking_create_expert(account=other, slot_id=slot.pk)

    raised = upload(client, "schedule.csv", csv([["王建国", day, "morning", "09:00", "09:30", "4", "60.00"]]), "CSV")
    lowered = upload(client, "schedule.csv", csv([["王建国", day, "morning", "09:00", "09:30", "1", "60.00"]]), "CSV")

    assert (raised.totals["new"], raised.totals["update"]) == (0, 1)
    assert lowered.has_validation_errors()
    slot.refresh_from_db()
    assert (ScheduleSlot.objects.count(), slot.capacity, slot.fee, slot.booked) == (1, 4, Decimal("60.00"), 2)


def test_an_unknown_doctor_or_a_bad_row_is_an_error_and_nothing_is_imported(hospital, operator, doctor):
    day = tomorrow().isoformat()
    result = upload(
        logged_in(operator),
        "schedule.csv",
        csv(
            [
                ["王建国", day, "morning", "09:00", "09:30", "5", "50.00"],
                ["张无名", day, "morning", "09:00", "09:30", "5", "50.00"],
                ["王建国", day, "morning", "10:00", "09:30", "5", "50.00"],
            ]
        ),
        "CSV",
    )

    assert result.has_errors() or result.has_validation_errors()
    assert "张无名" in str([e.error for row in result.rows for e in row.errors])
    assert not ScheduleSlot.objects.exists()


# --- Synchronisation from the HIS ---------------------------------------------------------------


@dataclass(frozen=True)
class HisScheduleSlot:
    """The shape of hcm.his.contract.HisScheduleSlot."""

    his_slot_id: str
    doctor_code: str
    doctor_name: str
    department: str
    date: date
    session: str
    start_time: time
    end_time: time
    capacity: int
    fee: Decimal


def his_slot(his_id: str, *, name: str = "王建国", at: time = time(9, 0), capacity: int = 5, day=None, **extra):
    return HisScheduleSlot(
        his_slot_id=his_id,
        doctor_code="D001",
        doctor_name=name,
        department="心内科",
        date=day or tomorrow(),
        session=extra.pop("session", "morning"),
        start_time=at,
        end_time=(datetime.combine(date.today(), at) + timedelta(minutes=30)).time(),
        capacity=capacity,
        fee=extra.pop("fee", Decimal("50.00")),
    )


class FakeHis:
    def __init__(self, slots=(), error: Exception | None = None):
        self.slots = list(slots)
        self.error = error
        self.asked: list[tuple[date, date]] = []

    def doctor_schedules(self, *, start: date, end: date) -> list[HisScheduleSlot]:
        self.asked.append((start, end))
        if self.error:
            raise self.error
        return self.slots


@pytest.fixture
def his(monkeypatch):
    fake = FakeHis()
    monkeypatch.setattr(services, "adapter_for", lambda hospital: fake)
    return fake


def test_sync_creates_the_his_slots_of_known_doctors_and_counts_the_unknown(hospital, doctor, his):
    his.slots = [
        his_slot("H1"),
        his_slot("H2", at=time(14, 0), session="afternoon", capacity=2, fee=Decimal("80.00")),
        his_slot("H3", name="张无名"),
        his_slot("H4", name="张无名", at=time(10, 0)),
    ]

    result = services.schedule_sync(hospital=hospital)

    assert (result.created, result.updated, result.closed, result.unknown_doctors, result.invalid) == (2, 0, 0, 2, 0)
    assert result.unknown_names == ("张无名",)
    assert his.asked == [(timezone.localdate(), timezone.localdate() + timedelta(days=14))]
    assert sorted(ScheduleSlot.objects.values_list("his_slot_id", "doctor", "session", "capacity", "fee")) == [
        ("H1", doctor.pk, "morning", 5, Decimal("50.00")),
        ("H2", doctor.pk, "afternoon", 2, Decimal("80.00")),
    ]


def test_sync_updates_by_his_slot_id_and_never_lowers_capacity_below_the_booked(hospital, doctor, his, account):
    his.slots = [his_slot("H1", capacity=5)]
    services.schedule_sync(hospital=hospital)
    slot = ScheduleSlot.objects.get()
    services.booking_create_expert(account=account, slot_id=slot.pk)
    other = make_account(hospital, "oOther", make_record(hospital, card="M2"))
    services.booking_create_expert(account=other, slot_id=slot.pk)

    his.slots = [his_slot("H1", capacity=1, fee=Decimal("60.00"))]
    result = services.schedule_sync(hospital=hospital)

    assert (result.created, result.updated) == (0, 1)
    slot.refresh_from_db()
    assert (ScheduleSlot.objects.count(), slot.capacity, slot.booked, slot.fee) == (1, 2, 2, Decimal("60.00"))


def test_sync_takes_over_a_hand_imported_slot_and_closes_slots_the_his_dropped(hospital, doctor, his, account):
    manual = make_slot(doctor, at="09:00")
    dropped = make_slot(doctor, at="15:00", session="afternoon")
    ScheduleSlot.objects.filter(pk=dropped.pk).update(his_slot_id="H-OLD")
    booking = services.booking_create_expert(account=account, slot_id=dropped.pk)
    his.slots = [his_slot("H1", at=time(9, 0), capacity=8)]

    result = services.schedule_sync(hospital=hospital)

    assert (result.created, result.updated, result.closed) == (0, 1, 1)
    manual.refresh_from_db()
    dropped.refresh_from_db()
    assert (manual.his_slot_id, manual.capacity, manual.is_open) == ("H1", 8, True)
    assert (dropped.is_open, dropped.booked) == (False, 1)
    booking.refresh_from_db()
    assert booking.state == "booked"  # the operator decides what to tell the patient


def test_sync_skips_impossible_slots(hospital, doctor, his):
    bad = his_slot("H9")
    his.slots = [his_slot("H1"), HisScheduleSlot(**{**bad.__dict__, "end_time": time(8, 0)})]

    result = services.schedule_sync(hospital=hospital)

    assert (result.created, result.invalid) == (1, 1)


def test_the_daily_task_syncs_and_survives_an_unreachable_his(hospital, doctor, his):
    his.slots = [his_slot("H1")]
    assert tasks.sync_schedules(CODE) == {"created": 1, "updated": 0, "closed": 0, "unknown_doctors": 0, "invalid": 0}

    his.error = HisUnavailable()
    assert tasks.sync_schedules(CODE) == {"error": "his_unavailable"}
    assert ScheduleSlot.objects.get().is_open


# --- The public doctor page -----------------------------------------------------------------------


SCHEDULE = API + "public/doctors/{}/schedule/"


def test_the_doctor_page_shows_the_window_with_places_left(api, hospital, doctor, account):
    first = make_slot(doctor, at="09:00", capacity=2)
    second = make_slot(doctor, at="14:00", session="afternoon", capacity=1, fee="80.00")
    later = make_slot(doctor, day=tomorrow() + timedelta(days=2), at="09:00")
    make_slot(doctor, day=timezone.localdate() + timedelta(days=15))  # beyond the window
    make_slot(doctor, day=timezone.localdate() - timedelta(days=1))  # past
    closed = make_slot(doctor, at="19:00", session="evening")
    ScheduleSlot.objects.filter(pk=closed.pk).update(is_open=False)
    services.booking_create_expert(account=account, slot_id=second.pk)

    response = api.get(SCHEDULE.format(doctor.pk))

    assert response.status_code == 200
    body = response.json()
    assert (body["doctor"]["name"], body["doctor"]["department_name"]) == ("王建国", "心内科")
    assert (body["first_day"], body["last_day"]) == (
        timezone.localdate().isoformat(),
        (timezone.localdate() + timedelta(days=14)).isoformat(),
    )
    assert [(d["date"], [s["id"] for s in d["slots"]]) for d in body["days"]] == [
        (first.date.isoformat(), [first.pk, second.pk]),
        (later.date.isoformat(), [later.pk]),
    ]
    assert body["days"][0]["slots"][1] == {
        "id": second.pk,
        "date": second.date.isoformat(),
        "session": "afternoon",
        "session_label": body["days"][0]["slots"][1]["session_label"],  # 下午 once translated
        "start_time": "14:00:00",
        "end_time": "14:30:00",
        "fee": "80.00",
        "remaining": 0,
        "available": False,
    }


def test_the_doctor_page_is_one_query_whatever_the_number_of_slots(api, doctor):
    make_slot(doctor)
    url = SCHEDULE.format(doctor.pk)
    api.get(url)
    with CaptureQueriesContext(connection) as one:
        api.get(url)
    for day in range(1, 10):
        for at, session in (("08:00", "morning"), ("14:00", "afternoon"), ("19:00", "evening")):
            make_slot(doctor, day=timezone.localdate() + timedelta(days=day + 1), at=at, session=session)
    with CaptureQueriesContext(connection) as many:
        response = api.get(url)
    assert sum(len(d["slots"]) for d in response.json()["days"]) == 28
    assert len(many) == len(one)


def test_an_unpublished_or_another_hospitals_doctor_has_no_schedule(api, hospital, hospital_b):
    hidden = make_doctor(hospital, "李四", published=False)
    theirs = make_doctor(hospital_b, "王建国")
    assert api.get(SCHEDULE.format(hidden.pk)).status_code == 404
    assert api.get(SCHEDULE.format(theirs.pk)).status_code == 404


def test_bookings_are_kept_when_their_slot_would_be_deleted(hospital, doctor, account):
    slot = make_slot(doctor)
    services.booking_create_expert(account=account, slot_id=slot.pk)

    with pytest.raises(ProtectedError):
        slot.delete()
    assert Booking.objects.count() == 1


def test_operators_edit_capacity_but_never_below_the_booked_nor_the_counter_itself(hospital, doctor, account):
    slot = make_slot(doctor, capacity=3)
    stale = ScheduleSlot.objects.get(pk=slot.pk)  # an edit form opened before the booking
    services.booking_create_expert(account=account, slot_id=slot.pk)
    client = staff_client(make_operator("admin_clinic", hospital=hospital))
    url = f"{API}staff/schedule-slots/{slot.pk}/"

    lowered = client.patch(url, {"capacity": 0}, format="json")
    counter = client.patch(url, {"booked": 0, "capacity": 4}, format="json")
    stale.capacity = 6
    stale.save()

    assert lowered.status_code == 400 and "capacity" in lowered.json()["fields"]
    assert counter.status_code == 200 and counter.json()["booked"] == 1
    slot.refresh_from_db()
    assert (slot.capacity, slot.booked) == (6, 1)


def test_the_doctor_page_matches_its_schema_even_for_a_doctor_without_department(hospital, doctor):
    """Times of day are "14:00:00" (no UTC offset), and a missing department is null, not left out."""
    make_slot(doctor, at="14:00", session="afternoon")
    doctor.department = None
    doctor.save(update_fields=["department"])

    answer = conforming_answer(
        "/api/v1/{hospital}/public/doctors/{id}/schedule/", hospital=CODE, path_parameters={"id": doctor.pk}
    )

    assert answer.json()["doctor"]["department_name"] is None
    assert answer.json()["days"][0]["slots"][0]["start_time"] == "14:00:00"

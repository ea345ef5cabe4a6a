"""The booking's state machine: the patient cancels before the deadline, an operator any time with
a reason (the place is free at once either way), no-shows marked by operators and by the sweep,
check-in and completion, the day-before reminder sent once per booking, and the named schedules."""

from datetime import timedelta

import pytest
from django.utils import timezone

from hcm.appointments import services, tasks
from hcm.appointments.models import Booking
from hcm.hospitals.roles import Role
from hcm.lowcode.models import TransitionLog
from hcm.lowcode.transitions import TransitionRefused, transition_apply
from hcm.notifications.models import Notification
from tests.appointments.conftest import API, CODE, make_account, make_record, make_slot
from tests.conftest import make_hospital, make_operator, staff_client

STAFF = f"{API}staff/bookings/"


@pytest.fixture
def booking(account, slot) -> Booking:
    return services.booking_create_expert(account=account, slot_id=slot.pk)


@pytest.fixture
def desk(hospital):
    return staff_client(make_operator("desk_clinic", hospital=hospital, role=Role.CUSTOMER_SERVICE))


def starts_in(booking: Booking, delta: timedelta) -> None:
    start = timezone.now() + delta
    Booking.objects.filter(pk=booking.pk).update(starts_at=start, ends_at=start + timedelta(minutes=30))


def booked(slot) -> int:
    slot.refresh_from_db()
    return slot.booked


def test_the_patient_cancels_before_the_deadline_and_the_place_is_free_at_once(patient_client, booking, slot):
    assert booked(slot) == 1

    response = patient_client.post(f"{API}patient/appointments/{booking.pk}/cancel/", {"reason": "改期"}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["state"], response.json()["can_cancel"]) == ("cancelled", False)
    booking.refresh_from_db()
    assert (booking.state, booking.cancel_reason) == ("cancelled", "改期")
    assert booking.cancelled_at is not None
    assert booked(slot) == 0
    notice = Notification.objects.get(event="appointment_cancelled")
    assert (notice.account_id, notice.template_id, notice.data["number"]) == (
        booking.account_id,
        "TPL-CANCELLED",
        booking.number,
    )
    log = TransitionLog.objects.get(object_id=str(booking.pk))
    assert (log.transition, log.source_state, log.target_state) == ("cancel", "booked", "cancelled")


def test_the_patient_cannot_cancel_after_the_deadline(patient_client, booking, slot):
    starts_in(booking, timedelta(hours=1))  # the deadline is 2 hours before

    response = patient_client.post(f"{API}patient/appointments/{booking.pk}/cancel/", {}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "cancel_deadline_passed"
    booking.refresh_from_db()
    assert booking.state == "booked" and booking.cancelled_at is None
    assert booked(slot) == 1
    assert not Notification.objects.filter(event="appointment_cancelled").exists()
    detail = patient_client.get(f"{API}patient/appointments/{booking.pk}/").json()
    assert detail["can_cancel"] is False


def test_a_cancelled_booking_cannot_be_cancelled_again(patient_client, account, booking, slot):
    transition_apply(obj=booking, name="cancel", actor=account, data={})

    response = patient_client.post(f"{API}patient/appointments/{booking.pk}/cancel/", {}, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "transition_not_allowed")
    assert booked(slot) == 0  # given back once


def test_an_operator_cancels_any_time_with_a_reason(desk, booking, slot):
    starts_in(booking, timedelta(minutes=10))
    url = f"{STAFF}{booking.pk}/cancel_by_operator/"

    without_reason = desk.post(url, {}, format="json")
    response = desk.post(url, {"reason": "专家临时停诊"}, format="json")

    assert without_reason.status_code == 400 and "reason" in without_reason.json()["fields"]
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "cancelled"
    booking.refresh_from_db()
    assert booking.cancel_reason == "专家临时停诊"
    assert booked(slot) == 0
    notice = Notification.objects.get(event="appointment_cancelled")
    assert notice.data["reason"] == "专家临时停诊"


def test_the_patients_cancel_is_not_an_operator_operation(desk, booking):
    assert desk.post(f"{STAFF}{booking.pk}/cancel/", {}, format="json").status_code == 404
    assert "cancel" not in desk.get(f"{STAFF}{booking.pk}/").json()["transitions"]


def test_an_operator_marks_a_no_show_only_once_the_appointment_started(desk, booking, slot):
    url = f"{STAFF}{booking.pk}/mark_no_show/"
    early = desk.post(url, {}, format="json")
    starts_in(booking, -timedelta(minutes=40))

    response = desk.post(url, {}, format="json")

    assert early.status_code == 409 and early.json()["code"] == "transition_not_allowed"
    assert response.status_code == 200 and response.json()["state"] == "no_show"
    assert booked(slot) == 1  # the time has passed: the place is not given back


def test_the_sweep_marks_no_shows_after_the_session_ended_and_leaves_the_rest(hospital, account, doctor, booking):
    ongoing = services.booking_create_expert(
        account=account, slot_id=make_slot(doctor, at="14:00", session="afternoon").pk
    )
    checked_in = services.booking_create_expert(
        account=account, slot_id=make_slot(doctor, at="19:00", session="evening").pk
    )
    Booking.objects.filter(pk=booking.pk).update(
        starts_at=timezone.now() - timedelta(hours=2), ends_at=timezone.now() - timedelta(hours=1)
    )
    Booking.objects.filter(pk=ongoing.pk).update(
        starts_at=timezone.now() - timedelta(minutes=20), ends_at=timezone.now() + timedelta(minutes=10)
    )
    Booking.objects.filter(pk=checked_in.pk).update(
        starts_at=timezone.now() - timedelta(hours=2), ends_at=timezone.now() - timedelta(hours=1)
    )
    transition_apply(obj=checked_in, name="check_in", actor=None)

    assert tasks.mark_no_shows() == 1
    assert tasks.mark_no_shows() == 0

    states = dict(Booking.objects.values_list("pk", "state"))
    assert states == {booking.pk: "no_show", ongoing.pk: "booked", checked_in.pk: "checked_in"}
    log = TransitionLog.objects.get(transition="mark_no_show")
    assert (log.object_id, log.actor_label) == (str(booking.pk), "system")


def test_check_in_then_complete(desk, booking):
    early = desk.post(f"{STAFF}{booking.pk}/check_in/", {}, format="json")
    starts_in(booking, timedelta(seconds=0))  # today

    checked_in = desk.post(f"{STAFF}{booking.pk}/check_in/", {}, format="json")
    completed = desk.post(f"{STAFF}{booking.pk}/complete/", {}, format="json")

    assert early.status_code == 409
    assert checked_in.json()["state"] == "checked_in" and checked_in.json()["checked_in_at"]
    assert completed.json()["state"] == "completed" and completed.json()["completed_at"]
    assert completed.json()["transitions"] == []


def test_reminders_go_the_day_before_once_per_booking(hospital, account, doctor, booking):
    other = make_account(hospital, "oOther", make_record(hospital, card="M2", name="林雅琴"))
    later = services.booking_create_expert(
        account=other, slot_id=make_slot(doctor, day=booking.date + timedelta(days=1)).pk
    )
    cancelled = services.booking_create_expert(
        account=other, slot_id=make_slot(doctor, at="14:00", session="afternoon").pk
    )
    transition_apply(obj=cancelled, name="cancel", actor=other, data={})

    assert tasks.send_reminders(CODE) == 1
    assert tasks.send_reminders(CODE) == 0

    reminder = Notification.objects.get(event="appointment_reminder")
    assert (reminder.account, reminder.template_id, reminder.data["number"], reminder.state) == (
        account,
        "TPL-REMIND",
        booking.number,
        "pending",
    )
    assert reminder.data["subject"] == "王建国"
    assert later.state == "booked"  # its reminder goes tomorrow


def test_reminders_are_set_based(hospital, doctor, django_assert_max_num_queries):
    for i in range(30):
        account = make_account(hospital, f"o{i}", make_record(hospital, card=f"C{i}"))
        slot = make_slot(doctor, at=f"{8 + i // 6:02d}:{(i % 6) * 10:02d}", minutes=10, capacity=1)
        services.booking_create_expert(account=account, slot_id=slot.pk)

    with django_assert_max_num_queries(6):
        assert tasks.send_reminders(CODE) == 30


def test_each_hospital_with_appointments_gets_named_schedules(hospital, db):
    from django_q.models import Schedule

    make_hospital("nohis", features="[site]")
    tasks.ensure_schedules()

    reminder = Schedule.objects.get(name=f"appointments.reminders.{CODE}")
    assert (reminder.func, reminder.args, reminder.cron) == (
        "hcm.appointments.tasks.send_reminders",
        "('clinic',)",
        "0 18 * * *",
    )
    assert Schedule.objects.get(name="appointments.mark_no_shows").minutes == 15
    assert not Schedule.objects.filter(name="appointments.reminders.nohis").exists()
    assert not Schedule.objects.filter(name__startswith="appointments.schedule_sync.").exists()  # no HIS

    make_hospital(CODE, name="预约医院", features="[site]")  # appointments switched off
    tasks.ensure_schedules()
    assert not Schedule.objects.filter(name=f"appointments.reminders.{CODE}").exists()


def test_a_hospital_with_a_his_gets_a_daily_schedule_sync(db):
    from django_q.models import Schedule

    make_hospital(
        "withhis",
        extra='integrations:\n  his: {adapter: http, base_url: "http://127.0.0.1:9/"}\n',
    )
    tasks.ensure_schedules()

    sync = Schedule.objects.get(name="appointments.schedule_sync.withhis")
    assert (sync.func, sync.args, sync.cron) == ("hcm.appointments.tasks.sync_schedules", "('withhis',)", "30 2 * * *")


def test_transitions_of_another_patients_booking_are_refused(hospital, booking):
    stranger = make_account(hospital, "oOther")
    with pytest.raises(Exception) as refused:
        services.booking_cancel_by_patient(booking=booking, account=stranger)
    assert getattr(refused.value, "code", None) == "not_found"
    booking.refresh_from_db()
    assert booking.state == "booked"
    assert not isinstance(refused.value, TransitionRefused)

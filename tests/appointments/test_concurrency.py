"""Races for places, with real threads on PostgreSQL: 50 people booking a slot of 5 places, one
person booking two times of one session at once, and cancelling while others book. Whatever the
interleaving, the capacity is never exceeded and the counter matches the active bookings."""

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from hcm.appointments import services
from hcm.appointments.models import ACTIVE_STATES, Booking, CheckupDay, ScheduleSlot
from hcm.lowcode.errors import DomainError
from hcm.lowcode.transitions import transition_apply
from hcm.notifications.models import Notification
from hcm.patients.identity import lookup_hash
from hcm.patients.models import Binding, PatientRecord, WechatAccount
from tests.appointments.conftest import client_for, make_account, make_record, make_slot, tomorrow
from tests.factories import id_number

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite cannot show row locks"),
    pytest.mark.django_db(transaction=True),
]

EXPERT = "/api/v1/clinic/patient/appointments/expert/"


def race(*jobs: Callable[[], str]) -> list[str]:
    """Run the jobs at the same moment, each in its own thread and database connection; their
    outcomes, sorted."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = []

    def run(job: Callable[[], str]) -> None:
        try:
            barrier.wait()
            outcomes.append(job())
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == len(jobs), "a thread died"
    return sorted(outcomes)


def people(hospital, count: int) -> list[WechatAccount]:
    numbers = [id_number(serial=i) for i in range(count)]
    records = PatientRecord.objects.bulk_create(
        PatientRecord(
            hospital=hospital,
            medical_card_number=f"R{i:04d}",
            name="尤小明",
            id_number=number,
            id_number_hash=lookup_hash(number),
            phone="13812345678",
        )
        for i, number in enumerate(numbers)
    )
    accounts = WechatAccount.objects.bulk_create(
        WechatAccount(hospital=hospital, openid=f"oRace{i:04d}", current_patient=record)
        for i, record in enumerate(records)
    )
    Binding.objects.bulk_create(
        Binding(hospital=hospital, account=account, patient=record)
        for account, record in zip(accounts, records, strict=True)
    )
    return accounts


def book_by_api(account: WechatAccount, slot: ScheduleSlot) -> Callable[[], str]:
    client = client_for(account)

    def job() -> str:
        response = client.post(EXPERT, {"slot": slot.pk}, format="json")
        return "booked" if response.status_code == 201 else f"{response.status_code} {response.json()['code']}"

    return job


def book(account: WechatAccount, slot: ScheduleSlot) -> Callable[[], str]:
    def job() -> str:
        try:
            services.booking_create_expert(account=account, slot_id=slot.pk)
        except DomainError as refused:
            return refused.code
        return "booked"

    return job


def test_fifty_people_booking_five_places_at_once_get_exactly_five(hospital, doctor):
    slot = make_slot(doctor, capacity=5)

    outcomes = race(*[book_by_api(account, slot) for account in people(hospital, 50)])

    assert outcomes == ["409 fully_booked"] * 45 + ["booked"] * 5
    slot.refresh_from_db()
    assert (slot.capacity, slot.booked) == (5, 5)
    assert Booking.objects.filter(slot=slot, state="booked").count() == 5
    assert Notification.objects.filter(event="appointment_booked").count() == 5


def test_one_person_booking_two_times_of_one_session_at_once_gets_one(account, doctor):
    first, second = make_slot(doctor, at="09:00"), make_slot(doctor, at="09:30")

    outcomes = race(*[book(account, first), book(account, second)] * 4)

    assert outcomes == ["booked"] + ["duplicate_booking"] * 7
    assert Booking.objects.count() == 1
    assert sum(ScheduleSlot.objects.values_list("booked", flat=True)) == 1


def test_cancelling_while_others_book_never_loses_or_doubles_a_place(hospital, doctor):
    slot = make_slot(doctor, capacity=3)
    holders = people(hospital, 3)
    held = [services.booking_create_expert(account=account, slot_id=slot.pk) for account in holders]
    newcomers = [make_account(hospital, f"oNew{i}", make_record(hospital, card=f"N{i}")) for i in range(6)]

    def cancel(booking: Booking) -> Callable[[], str]:
        def job() -> str:
            transition_apply(obj=booking, name="cancel", actor=booking.account, data={})
            return "cancelled"

        return job

    outcomes = race(*[cancel(b) for b in held[:2]], *[book(account, slot) for account in newcomers])

    slot.refresh_from_db()
    active = Booking.objects.filter(slot=slot, state__in=ACTIVE_STATES).count()
    assert outcomes.count("cancelled") == 2
    assert slot.booked == active <= slot.capacity
    assert outcomes.count("booked") == active - 1  # the holder who kept theirs, plus the newcomers in
    assert set(outcomes) <= {"cancelled", "booked", "fully_booked"}


def test_fifty_people_booking_one_checkup_day_of_five_places_get_exactly_five(hospital, package):
    day = CheckupDay.objects.create(hospital=hospital, date=tomorrow(), capacity=5)

    def checkup(account) -> Callable[[], str]:
        def job() -> str:
            try:
                services.booking_create_checkup(account=account, day_id=day.pk, product_id=package.pk)
            except DomainError as refused:
                return refused.code
            return "booked"

        return job

    outcomes = race(*[checkup(account) for account in people(hospital, 50)])

    assert outcomes == ["booked"] * 5 + ["fully_booked"] * 45
    day.refresh_from_db()
    assert day.booked == 5 == Booking.objects.filter(checkup_day=day).count()

"""Expert booking: a place of a doctor's slot for the current bound person (or typed details where
the hospital allows it), never beyond the capacity, one per person and session; refusals for
pay-later bills and no-shows say why and what to do, and an operator's override lifts them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from hcm.appointments import services, tasks
from hcm.appointments.models import Booking, BookingBlockOverride, ScheduleSlot
from hcm.hospitals.roles import Role
from hcm.lowcode.errors import DomainError
from hcm.lowcode.models import AuditEntry
from hcm.lowcode.transitions import transition_apply
from hcm.notifications.models import Notification
from hcm.outpatient.models import Prescription
from tests.appointments.conftest import (
    API,
    PERSON,
    allow_unbound_booking,
    client_for,
    make_account,
    make_doctor,
    make_record,
    make_slot,
    tomorrow,
)
from tests.conftest import make_operator

EXPERT = API + "patient/appointments/expert/"


def book(client, slot, **extra):
    return client.post(EXPERT, {"slot": slot.pk, **extra}, format="json")


def places(slot) -> tuple[int, int]:
    slot.refresh_from_db()
    return slot.capacity, slot.booked


def test_booking_within_capacity_takes_a_place_and_queues_the_confirmation(patient_client, account, patient, slot):
    response = book(patient_client, slot)

    assert response.status_code == 201, response.json()
    body = response.json()
    booking = Booking.objects.get()
    assert body["booking"]["id"] == booking.pk and body["next"] is None
    assert (booking.kind, booking.state, booking.account, booking.patient, booking.slot, booking.doctor) == (
        "expert",
        "booked",
        account,
        patient,
        slot,
        slot.doctor,
    )
    assert (booking.date, booking.session, booking.starts_at, booking.fee) == (
        slot.date,
        "morning",
        slot.starts_at,
        slot.fee,
    )
    assert body["booking"]["person"] == {"name": "尤**", "phone": "138****5678"}
    assert body["booking"]["subject"] == "王建国" and body["booking"]["can_cancel"] is True
    assert places(slot) == (5, 1)
    confirmation = Notification.objects.get()
    assert (confirmation.event, confirmation.account, confirmation.template_id, confirmation.state) == (
        "appointment_booked",
        account,
        "TPL-BOOKED",
        "pending",
    )
    assert confirmation.data["number"] == booking.number and confirmation.data["person"] == "尤**"


def test_a_full_slot_refuses_and_changes_nothing(hospital, doctor):
    slot = make_slot(doctor, capacity=2)
    clients = [client_for(make_account(hospital, f"o{i}", make_record(hospital, card=f"C{i}"))) for i in range(3)]

    answers = [book(client, slot) for client in clients]

    assert [a.status_code for a in answers] == [201, 201, 409]
    assert answers[2].json()["code"] == "fully_booked"
    assert places(slot) == (2, 2)
    assert Booking.objects.count() == 2
    assert Notification.objects.filter(event="appointment_booked").count() == 2


def test_the_same_person_cannot_hold_two_bookings_in_one_doctor_session(patient_client, doctor, slot):
    later = make_slot(doctor, at="10:00")
    afternoon = make_slot(doctor, at="14:00", session="afternoon")
    assert book(patient_client, slot).status_code == 201

    again = book(patient_client, slot)
    other_time = book(patient_client, later)

    assert again.status_code == other_time.status_code == 409
    assert again.json()["code"] == other_time.json()["code"] == "duplicate_booking"
    assert places(slot)[1] == 1 and places(later)[1] == 0
    assert book(patient_client, afternoon).status_code == 201  # another session is another booking


def test_the_database_refuses_a_second_active_booking_for_the_session(account, patient, doctor, slot):
    """The partial unique constraint, not only the service's check, keeps one per person and session."""
    services.booking_create_expert(account=account, slot_id=slot.pk)
    later = make_slot(doctor, at="10:00")
    twin = Booking.objects.get()
    twin.pk, twin.number, twin.slot = None, "A-TWIN", later

    with pytest.raises(services.AppointmentRefused) as refused:
        services._insert(twin, services._duplicate_session())

    assert refused.value.code == "duplicate_booking"
    assert Booking.objects.count() == 1


def test_an_unbound_patient_is_told_to_bind_unless_the_hospital_takes_typed_details(hospital, stranger_client, slot):
    refused = book(stranger_client, slot)
    typed_refused = book(stranger_client, slot, person=PERSON)

    assert (refused.status_code, refused.json()["code"]) == (409, "binding_required")
    assert (typed_refused.status_code, typed_refused.json()["code"]) == (409, "binding_required")
    assert places(slot)[1] == 0

    allow_unbound_booking(hospital)
    answer = book(stranger_client, slot, person=PERSON)

    assert answer.status_code == 201, answer.json()
    booking = Booking.objects.get()
    assert (booking.patient, booking.person_name, booking.person_phone, booking.person_id_number) == (
        None,
        "林雅琴",
        "13900001342",
        "350302198807211147",
    )
    assert answer.json()["booking"]["person"] == {"name": "林**", "phone": "139****1342"}
    assert answer.json()["next"]["code"] == "binding_offered"


def test_typed_details_are_validated(hospital, stranger_client, slot):
    allow_unbound_booking(hospital)
    response = book(stranger_client, slot, person={**PERSON, "id_number": "350302198807211148", "phone": "123"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["fields"]["person"]) == {"id_number", "phone"}
    assert not Booking.objects.exists()


@pytest.mark.parametrize(
    ("change", "code", "status"),
    [
        ({"is_open": False}, "not_bookable", 409),
        ({"date": timezone.localdate() + timedelta(days=15)}, "not_bookable", 409),
        ({"date": timezone.localdate() - timedelta(days=1)}, "not_bookable", 409),
    ],
)
def test_closed_past_or_too_distant_slots_are_refused(patient_client, slot, change, code, status):
    ScheduleSlot.objects.filter(pk=slot.pk).update(**change)

    response = book(patient_client, slot)

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert not Booking.objects.exists()


def test_another_hospitals_slot_is_not_found(patient_client, hospital_b):
    theirs = make_slot(make_doctor(hospital_b))
    response = book(patient_client, theirs)
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert places(theirs)[1] == 0


def test_an_unpublished_doctors_slot_is_not_bookable(patient_client, hospital):
    hidden = make_slot(make_doctor(hospital, "李四", published=False))
    assert book(patient_client, hidden).json()["code"] == "not_bookable"


# --- Booking blocks -----------------------------------------------------------------------------


def miss(booking: Booking, *, days_ago: int = 1) -> None:
    """The booking's session ended `days_ago` days ago and nobody came: the sweep marks it."""
    past = timezone.now() - timedelta(days=days_ago)
    Booking.objects.filter(pk=booking.pk).update(starts_at=past, ends_at=past + timedelta(minutes=30))


def test_no_shows_over_the_limit_block_booking_with_the_reason_and_what_to_do(
    hospital, account, patient, patient_client, doctor
):
    first = services.booking_create_expert(account=account, slot_id=make_slot(doctor, at="09:00").pk)
    second = services.booking_create_expert(
        account=account, slot_id=make_slot(doctor, at="14:00", session="afternoon").pk
    )
    miss(first, days_ago=10)
    miss(second, days_ago=3)
    assert tasks.mark_no_shows() == 2
    assert set(Booking.objects.values_list("state", flat=True)) == {"no_show"}
    next_slot = make_slot(doctor, at="19:00", session="evening")

    response = book(patient_client, next_slot)

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "too_many_no_shows"
    first.refresh_from_db()  # the older of the two: the block lifts when it leaves the window
    lifted = timezone.localtime(first.starts_at + timedelta(days=30)).strftime("%Y-%m-%d %H:%M")
    assert lifted in body["message"]
    assert body["fields"]["action"] and isinstance(body["fields"]["action"], list)
    assert places(next_slot)[1] == 0


def test_a_no_show_outside_the_window_does_not_count(account, patient_client, doctor):
    first = services.booking_create_expert(account=account, slot_id=make_slot(doctor, at="09:00").pk)
    second = services.booking_create_expert(
        account=account, slot_id=make_slot(doctor, at="14:00", session="afternoon").pk
    )
    miss(first, days_ago=31)
    miss(second, days_ago=2)
    tasks.mark_no_shows()

    assert book(patient_client, make_slot(doctor, at="19:00", session="evening")).status_code == 201


def unpaid_pay_later_bill(hospital, patient, number: str = "RX-LATER-1") -> Prescription:
    return Prescription.objects.create(
        hospital=hospital,
        number=number,
        his_patient_id="H0001",
        medical_card_number=patient.medical_card_number,
        kind="treatment",
        department="外科",
        amount="180.00",
        issued_at=timezone.now() - timedelta(days=2),
        pay_later=True,
        paid=False,
    )


def test_unpaid_pay_later_bills_block_booking_through_the_outpatient_service(hospital, patient, patient_client, slot):
    unpaid_pay_later_bill(hospital, patient)

    response = book(patient_client, slot)

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "unpaid_pay_later_bills" and "RX-LATER-1" in body["message"]
    assert len(body["fields"]["action"]) == 1
    assert not Booking.objects.exists() and places(slot)[1] == 0


def test_a_typed_person_with_a_record_on_file_is_blocked_too(hospital, stranger_client, slot):
    allow_unbound_booking(hospital)
    on_file = make_record(hospital, card="M9", name="林雅琴", phone="13900001342")
    on_file.id_number = PERSON["id_number"]
    on_file.save()
    unpaid_pay_later_bill(hospital, on_file)

    response = book(stranger_client, slot, person=PERSON)

    assert (response.status_code, response.json()["code"]) == (409, "unpaid_pay_later_bills")


def test_an_override_needs_a_reason_and_a_time_ahead(hospital, patient):
    for reason, until in (("  ", timezone.now() + timedelta(days=1)), ("已核实", timezone.now())):
        with pytest.raises(DomainError) as refused:
            services.block_override_grant(
                override=BookingBlockOverride(hospital=hospital, patient=patient, reason=reason, until=until),
                operator=None,
            )
        assert refused.value.code == "invalid"
    assert not BookingBlockOverride.objects.exists() and not AuditEntry.objects.exists()


def test_an_operators_override_lifts_the_block_for_that_person_only_and_is_audited(
    hospital, patient, patient_client, doctor, slot
):
    unpaid_pay_later_bill(hospital, patient)
    neighbour = make_record(hospital, card="M2", name="林雅琴", phone="13900001342")
    unpaid_pay_later_bill(hospital, neighbour, number="RX-LATER-2")
    operator = make_operator("desk_clinic", hospital=hospital, role=Role.CUSTOMER_SERVICE)

    override = services.block_override_grant(
        override=BookingBlockOverride(hospital=hospital, patient=patient, reason="已电话确认，明日补缴"),
        operator=operator,
    )

    assert (override.operator, override.person_key) == (operator, services.person_key(patient=patient))
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.object_id, entry.detail["reason"]) == (
        "override",
        operator,
        str(override.pk),
        "已电话确认，明日补缴",
    )
    assert book(patient_client, slot).status_code == 201
    neighbour_client = client_for(make_account(hospital, "oNeighbour", neighbour))
    assert book(neighbour_client, make_slot(doctor, at="10:00")).json()["code"] == "unpaid_pay_later_bills"


def test_an_expired_or_revoked_override_no_longer_lifts_the_block(hospital, patient, patient_client, slot):
    unpaid_pay_later_bill(hospital, patient)
    operator = make_operator("desk_clinic", hospital=hospital, role=Role.CUSTOMER_SERVICE)
    expired = services.block_override_grant(
        override=BookingBlockOverride(hospital=hospital, patient=patient, reason="上周放行"), operator=operator
    )
    BookingBlockOverride.objects.filter(pk=expired.pk).update(until=timezone.now() - timedelta(minutes=1))
    assert book(patient_client, slot).json()["code"] == "unpaid_pay_later_bills"
    current = services.block_override_grant(
        override=BookingBlockOverride(hospital=hospital, patient=patient, reason="放行"), operator=operator
    )
    services.block_override_revoke(override=current, operator=operator)

    assert book(patient_client, slot).json()["code"] == "unpaid_pay_later_bills"
    assert list(BookingBlockOverride.objects.values_list("pk", flat=True)) == [expired.pk]
    assert AuditEntry.objects.filter(action="override").count() == 3


def test_an_override_lifts_a_no_show_block(hospital, account, patient, patient_client, doctor):
    for at, session in (("09:00", "morning"), ("14:00", "afternoon")):
        miss(services.booking_create_expert(account=account, slot_id=make_slot(doctor, at=at, session=session).pk))
    tasks.mark_no_shows()
    evening = make_slot(doctor, at="19:00", session="evening")
    assert book(patient_client, evening).json()["code"] == "too_many_no_shows"

    services.block_override_grant(
        override=BookingBlockOverride(hospital=hospital, patient=patient, reason="家中急事，已核实"), operator=None
    )

    assert book(patient_client, evening).status_code == 201


def test_the_my_page_counts_upcoming_appointments(patient_client, account, doctor, slot):
    services.booking_create_expert(account=account, slot_id=slot.pk)
    cancelled = services.booking_create_expert(
        account=account, slot_id=make_slot(doctor, at="14:00", session="afternoon").pk
    )
    transition_apply(obj=cancelled, name="cancel", actor=account, data={})

    counts = patient_client.get(API + "patient/me/").json()["counts"]

    assert counts["upcoming_appointments"] == 1
    assert tomorrow() == slot.date

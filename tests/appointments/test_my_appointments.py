"""My appointments: upcoming and past, detail, in a constant number of queries; another
patient's bookings are never visible, at this hospital or another."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hcm.appointments import services
from hcm.appointments.models import Booking, CheckupDay
from hcm.lowcode.transitions import transition_apply
from hcm.patients.models import PatientToken
from tests.appointments.conftest import API, CODE, client_for, make_account, make_doctor, make_record, make_slot
from tests.openapi import conforming_answer

MINE = API + "patient/appointments/"
MINE_TEMPLATE = "/api/v1/{hospital}/patient/appointments/"


def book_expert(account, doctor, *, day_offset: int = 1, at: str = "09:00", session: str = "morning") -> Booking:
    slot = make_slot(doctor, day=timezone.localdate() + timedelta(days=day_offset), at=at, session=session)
    return services.booking_create_expert(account=account, slot_id=slot.pk)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_upcoming_soonest_first_and_past_latest_first(hospital, account, patient_client, doctor, package):
    later = book_expert(account, doctor, day_offset=3)
    sooner = book_expert(account, doctor, day_offset=1)
    day = CheckupDay.objects.create(hospital=hospital, date=timezone.localdate() + timedelta(days=2), capacity=5)
    checkup = services.booking_create_checkup(account=account, day_id=day.pk, product_id=package.pk)
    cancelled = book_expert(account, doctor, day_offset=4, at="14:00", session="afternoon")
    transition_apply(obj=cancelled, name="cancel", actor=account, data={})
    over = book_expert(account, doctor, day_offset=5)
    Booking.objects.filter(pk=over.pk).update(
        starts_at=timezone.now() - timedelta(days=2), ends_at=timezone.now() - timedelta(days=2, minutes=-30)
    )

    assert ids(patient_client.get(MINE + "?when=upcoming")) == [sooner.pk, checkup.pk, later.pk]
    assert ids(patient_client.get(MINE + "?when=past")) == [cancelled.pk, over.pk]
    assert ids(patient_client.get(MINE + "?when=upcoming&kind=checkup")) == [checkup.pk]
    assert len(ids(patient_client.get(MINE))) == 5


def test_the_detail_shows_what_the_page_needs(account, patient_client, doctor):
    booking = book_expert(account, doctor)

    body = patient_client.get(f"{MINE}{booking.pk}/").json()

    assert body["number"] == booking.number
    assert (body["kind"], body["state"], body["subject"], body["department"], body["session"]) == (
        "expert",
        "booked",
        "王建国",
        "心内科",
        "morning",
    )
    assert (body["fee"], body["can_cancel"], body["person"]) == (
        "50.00",
        True,
        {"name": "尤**", "phone": "138****5678"},
    )
    deadline = timezone.localtime(booking.starts_at - timedelta(hours=2))
    assert body["cancel_deadline"] == deadline.isoformat()


def test_another_patients_bookings_are_never_visible(hospital, hospital_b, account, patient_client, doctor):
    mine = book_expert(account, doctor)
    neighbour = make_account(hospital, "oNeighbour", make_record(hospital, card="M2", name="林雅琴"))
    theirs = book_expert(neighbour, doctor, at="10:00")
    far = make_account(hospital_b, "oFar", make_record(hospital_b, card="M1"))
    elsewhere = services.booking_create_expert(account=far, slot_id=make_slot(make_doctor(hospital_b)).pk)

    assert ids(patient_client.get(MINE)) == [mine.pk]
    assert patient_client.get(f"{MINE}{theirs.pk}/").status_code == 404
    assert patient_client.get(f"{MINE}{elsewhere.pk}/").status_code == 404
    refused = patient_client.post(f"{MINE}{theirs.pk}/cancel/", {}, format="json")
    assert refused.status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == "booked"
    # A patient of this hospital is nobody at the other one.
    assert patient_client.get(f"/api/v1/{hospital_b.code}/patient/appointments/").status_code == 403


def test_signing_in_is_required(api, account, doctor):
    book_expert(account, doctor)
    assert api.get(MINE).status_code in (401, 403)


@pytest.mark.parametrize("when", ["", "?when=upcoming", "?when=past"])
def test_my_appointments_list_is_a_constant_number_of_queries(hospital, account, doctor, package, when):
    client = client_for(account)
    book_expert(account, doctor, day_offset=1)
    past = book_expert(account, doctor, day_offset=1, at="14:00", session="afternoon")
    transition_apply(obj=past, name="cancel", actor=account, data={})
    client.get(MINE + when)
    with CaptureQueriesContext(connection) as one:
        first = client.get(MINE + when)
    for offset in range(2, 12):
        for at, session in (("09:00", "morning"), ("14:00", "afternoon")):
            doctor = make_doctor(hospital, f"医生{offset}{session}")
            booking = book_expert(account, doctor, day_offset=offset, at=at, session=session)
            if offset % 3 == 0:
                transition_apply(obj=booking, name="cancel", actor=account, data={})
    day = CheckupDay.objects.create(hospital=hospital, date=timezone.localdate() + timedelta(days=2), capacity=5)
    services.booking_create_checkup(account=account, day_id=day.pk, product_id=package.pk)
    with CaptureQueriesContext(connection) as many:
        second = client.get(MINE + when + ("&" if when else "?") + "page_size=100")
    assert first.status_code == second.status_code == 200
    assert second.json()["count"] > first.json()["count"]
    assert len(many) == len(one), [q["sql"] for q in many.captured_queries]


def test_my_appointments_match_the_schema_for_expert_and_checkup_bookings(hospital, account, doctor, package):
    """A checkup booking has no session ("") and an expert booking no order (null): both documented."""
    expert = book_expert(account, doctor)
    day = CheckupDay.objects.create(hospital=hospital, date=timezone.localdate() + timedelta(days=2), capacity=5)
    checkup = services.booking_create_checkup(account=account, day_id=day.pk, product_id=package.pk)
    _token, key = PatientToken.issue(account)

    rows = conforming_answer(MINE_TEMPLATE, hospital=CODE, authorization=f"Bearer {key}").json()["results"]

    by_id = {row["id"]: row for row in rows}
    assert (by_id[expert.pk]["session"], by_id[expert.pk]["order_number"]) == ("morning", None)
    assert by_id[checkup.pk]["session"] == ""

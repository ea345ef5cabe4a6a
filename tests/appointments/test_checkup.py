"""Checkup bookings: a day of the checkup calendar for a paid checkup order or directly for a
checkup product; the day's capacity holds; an unbound patient's booking succeeds with typed
details and the answer offers binding with a stable code."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from hcm.appointments.models import Booking, CheckupDay
from hcm.lowcode.transitions import transition_apply
from hcm.mall import services as mall
from hcm.mall.models import Order
from hcm.notifications.models import Notification
from tests.appointments.conftest import API, CODE, PERSON, client_for, make_account, make_record
from tests.openapi import conforming_answer

CHECKUP = API + "patient/appointments/checkup/"


def paid_order(account, product) -> Order:
    order = mall.order_create(account=account, patient=account.current_patient, lines=[mall.Line(product.pk, 1)])
    transition_apply(obj=order, name="mark_paid", actor=None, data={"payment_method": "at_hospital"})
    return Order.objects.get(pk=order.pk)


def booked(day: CheckupDay) -> int:
    day.refresh_from_db()
    return day.booked


def test_a_paid_checkup_order_books_a_day_for_its_person(patient_client, account, patient, package, checkup_day):
    order = paid_order(account, package)

    response = patient_client.post(CHECKUP, {"day": checkup_day.pk, "order": order.pk}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["next"] is None  # bound already
    booking = Booking.objects.get()
    assert (booking.kind, booking.state, booking.patient, booking.order, booking.product, booking.fee) == (
        "checkup",
        "booked",
        patient,
        order,
        package,
        Decimal("0.00"),  # paid with the order
    )
    assert (booking.checkup_day, booking.date, booking.starts_at) == (
        checkup_day,
        checkup_day.date,
        checkup_day.starts_at,
    )
    assert body["booking"]["order_number"] == order.number and body["booking"]["subject"] == "入职体检套餐"
    assert booked(checkup_day) == 1
    assert Notification.objects.get(event="appointment_booked").data["subject"] == "入职体检套餐"

    again = patient_client.post(CHECKUP, {"day": checkup_day.pk, "order": order.pk}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "order_already_booked")
    assert booked(checkup_day) == 1


def test_an_unpaid_or_someone_elses_order_cannot_be_booked(hospital, patient_client, account, package, checkup_day):
    unpaid = mall.order_create(account=account, patient=account.current_patient, lines=[mall.Line(package.pk, 1)])
    other = make_account(hospital, "oOther", make_record(hospital, card="M2"))
    theirs = paid_order(other, package)

    refused = patient_client.post(CHECKUP, {"day": checkup_day.pk, "order": unpaid.pk}, format="json")
    hidden = patient_client.post(CHECKUP, {"day": checkup_day.pk, "order": theirs.pk}, format="json")

    assert (refused.status_code, refused.json()["code"]) == (409, "order_not_paid")
    assert (hidden.status_code, hidden.json()["code"]) == (404, "not_found")
    assert not Booking.objects.exists() and booked(checkup_day) == 0


def test_a_bound_patient_books_a_checkup_package_directly(patient_client, patient, package, checkup_day):
    response = patient_client.post(CHECKUP, {"day": checkup_day.pk, "product": package.pk}, format="json")

    assert response.status_code == 201, response.json()
    booking = Booking.objects.get()
    assert (booking.patient, booking.product, booking.order, booking.fee) == (patient, package, None, Decimal("299.00"))
    assert response.json()["next"] is None


def test_an_unbound_patients_booking_succeeds_and_offers_binding(stranger, stranger_client, package, checkup_day):
    response = stranger_client.post(
        CHECKUP, {"day": checkup_day.pk, "product": package.pk, "person": PERSON}, format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["next"]["code"] == "binding_offered"
    assert body["next"]["endpoint"] == "/api/v1/clinic/patient/bindings/"
    assert body["booking"]["person"] == {"name": "林**", "phone": "139****1342"}
    assert PERSON["id_number"] not in str(body)
    booking = Booking.objects.get()
    assert (booking.account, booking.patient, booking.person_name, booking.state) == (
        stranger,
        None,
        "林雅琴",
        "booked",
    )
    assert booked(checkup_day) == 1


def test_an_unbound_patient_without_details_is_asked_to_bind(stranger_client, package, checkup_day):
    response = stranger_client.post(CHECKUP, {"day": checkup_day.pk, "product": package.pk}, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "binding_required")
    assert not Booking.objects.exists()


def test_the_days_capacity_holds_and_one_person_books_once_a_day(hospital, package, checkup_day, patient_client):
    assert (
        patient_client.post(CHECKUP, {"day": checkup_day.pk, "product": package.pk}, format="json").status_code == 201
    )
    twice = patient_client.post(CHECKUP, {"day": checkup_day.pk, "product": package.pk}, format="json")
    others = [
        client_for(make_account(hospital, f"o{i}", make_record(hospital, card=f"C{i}"))).post(
            CHECKUP, {"day": checkup_day.pk, "product": package.pk}, format="json"
        )
        for i in range(3)
    ]

    assert (twice.status_code, twice.json()["code"]) == (409, "duplicate_booking")
    assert [o.status_code for o in others] == [201, 201, 409]
    assert others[2].json()["code"] == "fully_booked"
    assert booked(checkup_day) == 3 == Booking.objects.count()


def test_the_input_names_an_order_or_a_product(patient_client, package, checkup_day):
    neither = patient_client.post(CHECKUP, {"day": checkup_day.pk}, format="json")
    both = patient_client.post(CHECKUP, {"day": checkup_day.pk, "order": 1, "product": package.pk}, format="json")

    assert neither.status_code == both.status_code == 400
    assert set(neither.json()["fields"]) == {"order", "product"}


def test_a_past_or_closed_day_is_refused(patient_client, hospital, package):
    past = CheckupDay.objects.create(hospital=hospital, date=timezone.localdate() - timedelta(days=1), capacity=5)
    closed = CheckupDay.objects.create(
        hospital=hospital, date=timezone.localdate() + timedelta(days=2), capacity=5, is_open=False
    )
    for day in (past, closed):
        response = patient_client.post(CHECKUP, {"day": day.pk, "product": package.pk}, format="json")
        assert (response.status_code, response.json()["code"]) == (409, "not_bookable")


def test_the_public_calendar_lists_open_days_in_the_window_with_places_left(api, hospital, checkup_day, package):
    CheckupDay.objects.create(hospital=hospital, date=timezone.localdate() + timedelta(days=20), capacity=5)
    CheckupDay.objects.create(
        hospital=hospital, date=timezone.localdate() + timedelta(days=3), capacity=5, is_open=False
    )
    CheckupDay.objects.filter(pk=checkup_day.pk).update(booked=1)

    response = api.get(API + "public/appointments/checkup-days/")

    assert response.status_code == 200
    assert response.json() == [
        {
            "id": checkup_day.pk,
            "date": checkup_day.date.isoformat(),
            "start_time": "07:30:00",
            "end_time": "10:30:00",
            "remaining": 2,
            "available": True,
        }
    ]


def test_the_checkup_calendar_matches_its_schema(checkup_day):
    answer = conforming_answer("/api/v1/{hospital}/public/appointments/checkup-days/", hospital=CODE)

    assert [(day["id"], day["start_time"], day["end_time"]) for day in answer.json()] == [
        (checkup_day.pk, "07:30:00", "10:30:00")
    ]

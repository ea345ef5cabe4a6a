"""Appointments in the admin: the schedule list per doctor and day, bookings with filters and
transition buttons (an operator's cancel asks for the reason), overrides granted with an audit
entry, and exports without identities."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from hcm.appointments import services
from hcm.appointments.models import Booking, BookingBlockOverride
from hcm.hospitals.roles import Role
from hcm.lowcode.models import AuditEntry, TransitionLog
from tests.appointments.conftest import make_doctor, make_slot
from tests.conftest import make_operator


@pytest.fixture
def desk(hospital):
    return make_operator("desk_clinic", hospital=hospital, role=Role.CUSTOMER_SERVICE)


@pytest.fixture
def booking(account, slot) -> Booking:
    return services.booking_create_expert(account=account, slot_id=slot.pk)


def logged_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def url(name: str, *args) -> str:
    return reverse(f"admin:{name}", args=args)


def buttons(response) -> list[str]:
    return re.findall(r'name="_fsm_transition_to" value="(\w+)"', response.content.decode())


def test_the_schedule_list_filters_by_doctor_date_and_session(hospital, desk, doctor):
    other = make_doctor(hospital, "李明")
    mine = make_slot(doctor)
    make_slot(doctor, at="14:00", session="afternoon")
    make_slot(other)
    client = logged_in(desk)

    by_doctor = client.get(url("appointments_scheduleslot_changelist"), {"doctor__id__exact": doctor.pk})
    by_session = client.get(
        url("appointments_scheduleslot_changelist"), {"doctor__id__exact": doctor.pk, "session": "morning"}
    )
    by_date = client.get(url("appointments_scheduleslot_changelist"), {"date": mine.date.isoformat()})

    assert len(by_doctor.context["cl"].result_list) == 2
    assert list(by_session.context["cl"].result_list) == [mine]
    assert by_date.status_code == 200


def test_an_operator_cancels_a_booking_with_the_button_and_a_reason(desk, booking, slot):
    client = logged_in(desk)
    page = client.get(url("appointments_booking_change", booking.pk))
    assert buttons(page) == ["cancel_by_operator"]  # no-show only once it started; check-in on the day

    pressed = client.post(url("appointments_booking_change", booking.pk), {"_fsm_transition_to": "cancel_by_operator"})
    form_page = client.get(pressed["Location"])
    done = client.post(url("appointments_booking_transition", booking.pk, "cancel_by_operator"), {"reason": "停诊"})

    assert pressed["Location"] == url("appointments_booking_transition", booking.pk, "cancel_by_operator")
    assert list(form_page.context["transition_form"].fields) == ["reason"]
    assert done.status_code == 302
    booking.refresh_from_db()
    slot.refresh_from_db()
    assert (booking.state, booking.cancel_reason, slot.booked) == ("cancelled", "停诊", 0)
    log = TransitionLog.objects.get(transition="cancel_by_operator")
    assert (log.actor, log.data) == (desk, {"reason": "停诊"})


def test_bookings_filter_by_state_and_are_never_added_by_hand(desk, booking):
    client = logged_in(desk)
    booked = client.get(url("appointments_booking_changelist"), {"state": "booked"})
    cancelled = client.get(url("appointments_booking_changelist"), {"state": "cancelled"})

    assert list(booked.context["cl"].result_list) == [booking]
    assert list(cancelled.context["cl"].result_list) == []
    assert client.get(url("appointments_booking_add")).status_code == 403
    assert "尤小明" not in booked.content.decode()  # names are masked in the list


def test_the_add_pages_render(desk):
    client = logged_in(desk)
    for name in ("scheduleslot", "checkupday", "bookingblockoverride"):
        assert client.get(url(f"appointments_{name}_add")).status_code == 200, name


def test_an_override_added_in_the_admin_is_written_through_the_service_and_audited(hospital, desk, patient):
    client = logged_in(desk)
    until = timezone.localtime() + timedelta(days=3)

    response = client.post(
        url("appointments_bookingblockoverride_add"),
        {
            "hospital": hospital.pk,
            "patient": patient.pk,
            "reason": "已核实爽约原因",
            "until_0": until.strftime("%Y-%m-%d"),
            "until_1": until.strftime("%H:%M:%S"),
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    override = BookingBlockOverride.objects.get()
    assert (override.patient, override.operator, override.person_key) == (
        patient,
        desk,
        services.person_key(patient=patient),
    )
    entry = AuditEntry.objects.get(action="override")
    assert (entry.actor, entry.object_id, entry.detail["operation"]) == (desk, str(override.pk), "lift_booking_block")

    refused = client.post(url("appointments_bookingblockoverride_delete", override.pk), {"post": "yes"})
    assert refused.status_code == 403  # customer service grants; revoking is the hospital admin's
    head = make_operator("head_clinic", hospital=hospital)
    logged_in(head).post(url("appointments_bookingblockoverride_delete", override.pk), {"post": "yes"})
    assert not BookingBlockOverride.objects.exists()
    revoked = AuditEntry.objects.filter(action="override").latest("pk")
    assert (revoked.actor, revoked.detail["operation"]) == (head, "revoke_booking_block_override")


def test_the_bookings_export_leaves_identities_out(desk, booking, patient):
    from django.contrib import admin
    from django.test import RequestFactory

    model_admin = admin.site._registry[Booking]
    request = RequestFactory().get("/admin/")
    request.user = desk
    data = model_admin.get_data_for_export(request, model_admin.get_export_queryset(request))

    assert data.dict[0]["number"] == booking.number
    assert data.dict[0]["patient"] == patient.medical_card_number
    assert "尤小明" not in data.csv and patient.phone not in data.csv

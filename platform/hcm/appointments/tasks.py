"""Schedules of appointments.

`appointments.mark_no_shows` (every 15 minutes) marks bookings nobody checked in for as no-shows
once their session has ended. Each hospital with appointments gets a reminder schedule
`appointments.reminders.<code>` at `appointments.reminder_at` (the day-before reminder), and,
where it has a HIS, `appointments.schedule_sync.<code>` once a day; `ensure_schedules` keeps them
in step with the configs (after migrate and after every configuration change).
"""

import logging
from datetime import timedelta

from django.utils import timezone

from hcm.appointments import services
from hcm.appointments.models import Booking, BookingState
from hcm.his.contract import HisError
from hcm.hospitals.models import Hospital
from hcm.lowcode.transitions import TransitionRefused, transition_apply
from hcm.notifications.services import notify_many

log = logging.getLogger(__name__)
NO_SHOW_SCHEDULE = "appointments.mark_no_shows"
REMINDER_SCHEDULE_PREFIX = "appointments.reminders."
SYNC_SCHEDULE_PREFIX = "appointments.schedule_sync."
SYNC_CRON = "30 2 * * *"  # the night before the day's bookings open
NO_SHOW_GRACE = timedelta(minutes=30)  # late arrivals checked in just after the session
BATCH = 500


def mark_no_shows() -> int:
    """Mark as no-show the bookings still booked (never checked in) after their session ended."""
    due = Booking.objects.filter(state=BookingState.BOOKED, ends_at__lte=timezone.now() - NO_SHOW_GRACE)
    marked = 0
    for booking in due.order_by("pk")[:BATCH]:
        try:
            transition_apply(obj=booking, name="mark_no_show", actor=None)
            marked += 1
        except TransitionRefused:
            continue  # checked in or cancelled meanwhile
    return marked


def send_reminders(hospital_code: str) -> int:
    """Remind every account of each booking starting tomorrow, once per booking, in a constant
    number of queries whatever the number of bookings."""
    hospital = Hospital.objects.get(code=hospital_code)
    if not hospital.has_feature("appointments"):
        return 0
    tomorrow = timezone.localdate() + timedelta(days=1)
    bookings = Booking.objects.filter(hospital=hospital, state=BookingState.BOOKED, date=tomorrow).select_related(
        "account", "doctor", "product"
    )
    messages = [
        (booking.account, services.booking_summary(booking), f"appointment_reminder:{booking.number}")
        for booking in bookings.order_by("pk").iterator(chunk_size=2000)
    ]
    return notify_many(hospital=hospital, event="appointment_reminder", messages=messages)


def sync_schedules(hospital_code: str) -> dict:
    """The daily synchronisation of one hospital's doctor schedules from its HIS."""
    hospital = Hospital.objects.get(code=hospital_code)
    try:
        result = services.schedule_sync(hospital=hospital)
    except HisError as error:  # tomorrow's run tries again; the slots we have stay bookable
        log.warning("%s: could not synchronise schedules from the HIS: %s", hospital.code, error)
        return {"error": error.code}
    if result.unknown_names:
        log.warning("%s: HIS schedules of unknown doctors skipped: %s", hospital.code, ", ".join(result.unknown_names))
    return {
        "created": result.created,
        "updated": result.updated,
        "closed": result.closed,
        "unknown_doctors": result.unknown_doctors,
        "invalid": result.invalid,
    }


def ensure_schedules(**kwargs) -> None:
    """The no-show sweep, and per hospital with appointments its reminder and (with a HIS) sync schedules."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=NO_SHOW_SCHEDULE,
        defaults={
            "func": "hcm.appointments.tasks.mark_no_shows",
            "schedule_type": Schedule.MINUTES,
            "minutes": 15,
            "repeats": -1,
        },
    )
    wanted: dict[str, tuple[str, str, str]] = {}
    for hospital in Hospital.objects.filter(is_active=True):
        if not hospital.has_feature("appointments"):
            continue
        code = hospital.code
        reminder_at = hospital.settings.appointments.reminder_at
        wanted[REMINDER_SCHEDULE_PREFIX + code] = ("hcm.appointments.tasks.send_reminders", code, reminder_at)
        if hospital.settings.integrations.his.adapter != "none":
            wanted[SYNC_SCHEDULE_PREFIX + code] = ("hcm.appointments.tasks.sync_schedules", code, SYNC_CRON)
    for name, (func, code, cron) in wanted.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "args": repr((code,)),
                "schedule_type": Schedule.CRON,
                "cron": cron,
                "repeats": -1,
            },
        )
    stale = Schedule.objects.filter(name__startswith=REMINDER_SCHEDULE_PREFIX) | Schedule.objects.filter(
        name__startswith=SYNC_SCHEDULE_PREFIX
    )
    stale.exclude(name__in=wanted).delete()

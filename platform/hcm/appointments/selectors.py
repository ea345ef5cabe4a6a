"""Reads of appointments shared by the API, the services and the my page: the booking window,
a doctor's schedule, the checkup calendar and a patient's own bookings."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from hcm.appointments.models import ACTIVE_STATES, Booking, CheckupDay, ScheduleSlot
from hcm.content.models import Doctor, PublishState
from hcm.hospitals.models import Hospital
from hcm.patients.models import PatientRecord, WechatAccount

UPCOMING, PAST = "upcoming", "past"


@dataclass(frozen=True)
class Window:
    """The days patients may book: from today to `booking_window_days` days ahead."""

    first: date
    last: date

    def __contains__(self, day: date) -> bool:
        return self.first <= day <= self.last


def booking_window(hospital: Hospital) -> Window:
    today = timezone.localdate()
    return Window(today, today + timedelta(days=hospital.settings.appointments.booking_window_days))


def _not_started(queryset: QuerySet) -> QuerySet:
    """Rows (slots or checkup days) whose start is still ahead, in the deployment's time zone."""
    now = timezone.localtime()
    return queryset.filter(Q(date__gt=now.date()) | Q(date=now.date(), start_time__gt=now.time()))


def published_doctor(*, hospital: Hospital, doctor_id: int) -> Doctor | None:
    return (
        Doctor.objects.filter(hospital=hospital, pk=doctor_id, state=PublishState.PUBLISHED)
        .select_related("department")
        .first()
    )


def doctor_schedule(*, hospital: Hospital, doctor: Doctor) -> list[ScheduleSlot]:
    """The doctor's open slots in the booking window that have not started, in time order (one query)."""
    window = booking_window(hospital)
    slots = ScheduleSlot.objects.filter(
        hospital=hospital, doctor=doctor, is_open=True, date__gte=window.first, date__lte=window.last
    )
    return list(_not_started(slots).order_by("date", "start_time", "pk"))


def checkup_days(*, hospital: Hospital) -> list[CheckupDay]:
    """The checkup calendar's open days in the booking window that have not started (one query)."""
    window = booking_window(hospital)
    days = CheckupDay.objects.filter(hospital=hospital, is_open=True, date__gte=window.first, date__lte=window.last)
    return list(_not_started(days).order_by("date", "pk"))


def _upcoming(queryset: QuerySet) -> QuerySet:
    return queryset.filter(state__in=ACTIVE_STATES, ends_at__gte=timezone.now())


def account_bookings(account: WechatAccount, *, when: str | None = None) -> QuerySet[Booking]:
    """The bookings an account made, with what their rows show: upcoming soonest first, past
    (ended, cancelled, missed) latest first, or all latest first."""
    bookings = Booking.objects.filter(hospital_id=account.hospital_id, account=account).select_related(
        "doctor__department", "product", "order"
    )
    if when == UPCOMING:
        return _upcoming(bookings).order_by("starts_at", "pk")
    if when == PAST:
        return bookings.exclude(pk__in=_upcoming(bookings).values("pk")).order_by("-starts_at", "-pk")
    return bookings.order_by("-starts_at", "-pk")


def upcoming_count(account: WechatAccount, patient: PatientRecord | None = None) -> int:
    """The my page's "upcoming appointments": the account's active bookings that have not ended."""
    return _upcoming(Booking.objects.filter(account=account)).count()

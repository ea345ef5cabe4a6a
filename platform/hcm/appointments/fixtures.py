"""Demo checkup calendar: days relative to today, so the demo never runs out of bookable days."""

from datetime import timedelta

from django.utils import timezone

from hcm.appointments.models import CheckupDay


def load_demo_calendar(hospital, rows: list[dict]) -> str:
    """Rows of weekday (1 = Monday), capacity: a calendar day for each matching day of the next
    four weeks; days already there are kept as they are."""
    capacity_by_weekday = {int(row["weekday"]): int(row["capacity"]) for row in rows}
    today = timezone.localdate()
    days = [today + timedelta(days=offset) for offset in range(28)]
    existing = set(CheckupDay.objects.filter(hospital=hospital, date__in=days).values_list("date", flat=True))
    created = CheckupDay.objects.bulk_create(
        CheckupDay(hospital=hospital, date=day, capacity=capacity_by_weekday[day.isoweekday()])
        for day in days
        if day.isoweekday() in capacity_by_weekday and day not in existing
    )
    return f"{len(created)} checkup days added, {len(existing)} already there"

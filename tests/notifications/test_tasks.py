"""The named django-q2 schedule of the sweep."""

from django_q.models import Schedule

from hcm.notifications.tasks import ensure_schedules


def test_the_sweep_schedule_exists_once_however_often_it_is_ensured(db):
    Schedule.objects.filter(name="notifications.send_due").delete()  # migrate already made it

    ensure_schedules()
    ensure_schedules()

    schedule = Schedule.objects.get(name="notifications.send_due")
    assert (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        "hcm.notifications.tasks.send_due",
        Schedule.MINUTES,
        1,
        -1,
    )


def test_migrate_leaves_the_sweep_scheduled(db):
    assert Schedule.objects.filter(name="notifications.send_due").count() == 1

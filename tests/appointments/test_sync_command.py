"""manage.py sync_schedules against the fake HIS over HTTP: the doctors' rota becomes bookable slots."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from hcm.appointments.models import ScheduleSlot
from hcm.his.fake import running_fake_his
from hcm.his.http import close_sessions
from tests.appointments.conftest import make_doctor
from tests.conftest import make_hospital

ROTA = {
    "doctor_code": "D01",
    "doctor_name": "王建国",
    "department": "心内科",
    "weekdays": [1, 2, 3, 4, 5, 6, 7],
    "sessions": ["morning"],
    "capacity": 5,
    "fee": "50.00",
    "slot_minutes": 120,
}


@pytest.fixture
def fake_his():
    with running_fake_his({"hospital": "synced", "patients": [], "schedules": [ROTA]}) as server:
        yield server
    close_sessions()


@pytest.mark.django_db(transaction=True)
def test_the_command_pulls_the_rota_of_known_doctors(fake_his):
    hospital = make_hospital(
        "synced", extra=f'integrations:\n  his: {{adapter: http, base_url: "{fake_his.base_url}"}}\n'
    )
    doctor = make_doctor(hospital, "王建国")
    out = StringIO()

    call_command("sync_schedules", "--hospital", "synced", stdout=out)

    slots = ScheduleSlot.objects.filter(doctor=doctor)
    window = hospital.settings.appointments.booking_window_days
    assert slots.count() >= 2 * window  # two 2-hour slots every morning of the window
    assert {(s.session, s.capacity, str(s.fee)) for s in slots} == {("morning", 5, "50.00")}
    assert "synced: {'created':" in out.getvalue()
    call_command("sync_schedules", "--hospital", "synced", stdout=StringIO())
    assert ScheduleSlot.objects.filter(doctor=doctor).count() == slots.count()  # a second run duplicates nothing


@pytest.mark.django_db
def test_an_unknown_hospital_is_an_error():
    with pytest.raises(CommandError):
        call_command("sync_schedules", "--hospital", "nope")

"""A hospital taking expert and checkup bookings (two no-shows in 30 days block, pay-later bills
block), a published chief physician with slots tomorrow, a bound patient, checkup products and
a calendar, and API clients signed in as WeChat accounts."""

import itertools
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from hcm.appointments.models import CheckupDay, ScheduleSlot
from hcm.catalog.models import Category, Product
from hcm.content.models import Department, Doctor
from hcm.hospitals.config import parse_config
from hcm.hospitals.services import hospital_config_update
from hcm.patients.models import Binding, PatientRecord, PatientToken, WechatAccount
from tests.conftest import ALL_FEATURES, make_hospital
from tests.factories import id_number

CODE = "clinic"
API = f"/api/v1/{CODE}/"

CONFIG = """
appointments:
  booking_window_days: 14
  cancel_deadline: 2h
  allow_unbound_booking: {unbound}
  no_show: {{limit: 2, window_days: 30}}
  reminder_at: "0 18 * * *"
outpatient:
  pay_later: {{enabled: true, remind_at: "0 9 * * *", block_booking_while_unpaid: true}}
notifications:
  wechat_templates:
    appointment_booked: TPL-BOOKED
    appointment_cancelled: TPL-CANCELLED
    appointment_reminder: TPL-REMIND
"""


def hospital_config(*, unbound: bool = False) -> str:
    return CONFIG.format(unbound="true" if unbound else "false")


def allow_unbound_booking(hospital) -> None:
    """The hospital's config now lets patients book for people they have not bound."""
    text = f"code: {CODE}\nname: {hospital.name}\nfeatures: {ALL_FEATURES}\n" + hospital_config(unbound=True)
    hospital_config_update(hospital=hospital, config=parse_config(text), author=None)
    hospital.refresh_from_db()


def tomorrow() -> date:
    return timezone.localdate() + timedelta(days=1)


def make_slot(
    doctor: Doctor,
    *,
    day: date | None = None,
    at: str = "09:00",
    session: str = "morning",
    capacity: int = 5,
    fee: str = "50.00",
    minutes: int = 30,
) -> ScheduleSlot:
    start = time.fromisoformat(at)
    end = (datetime.combine(date.today(), start) + timedelta(minutes=minutes)).time()
    return ScheduleSlot.objects.create(
        hospital=doctor.hospital,
        doctor=doctor,
        date=day or tomorrow(),
        session=session,
        start_time=start,
        end_time=end,
        capacity=capacity,
        fee=Decimal(fee),
    )


def make_doctor(hospital, name: str = "王建国", *, published: bool = True) -> Doctor:
    department, _ = Department.objects.get_or_create(hospital=hospital, name="心内科", defaults={"state": "published"})
    return Doctor.objects.create(
        hospital=hospital,
        department=department,
        name=name,
        title=Doctor.Title.CHIEF,
        is_expert=True,
        state="published" if published else "draft",
    )


_PEOPLE = itertools.count(1)


def make_record(hospital, *, card: str, name: str = "尤小明", phone: str = "13812345678") -> PatientRecord:
    """A record with an ID number no other record of the test has (one person, one key)."""
    n = next(_PEOPLE)
    number = id_number(birth=(date(1960, 1, 1) + timedelta(days=n // 1000)).strftime("%Y%m%d"), serial=n % 1000)
    return PatientRecord.objects.create(
        hospital=hospital, medical_card_number=card, name=name, id_number=number, phone=phone
    )


def make_account(hospital, openid: str, patient: PatientRecord | None = None) -> WechatAccount:
    account = WechatAccount.objects.create(hospital=hospital, openid=openid, current_patient=patient)
    if patient is not None:
        Binding.objects.create(hospital=hospital, account=account, patient=patient)
    return account


def client_for(account: WechatAccount) -> APIClient:
    client = APIClient()
    _token, key = PatientToken.issue(account)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def hospital(db):
    return make_hospital(CODE, name="预约医院", extra=hospital_config())


@pytest.fixture
def doctor(hospital):
    return make_doctor(hospital)


@pytest.fixture
def slot(doctor):
    return make_slot(doctor)


@pytest.fixture
def patient(hospital):
    return make_record(hospital, card="M1")


@pytest.fixture
def account(hospital, patient):
    return make_account(hospital, "oPatient001", patient)


@pytest.fixture
def patient_client(account):
    return client_for(account)


@pytest.fixture
def stranger(hospital):
    """A WeChat user of the same hospital who never bound anyone."""
    return make_account(hospital, "oStranger01")


@pytest.fixture
def stranger_client(stranger):
    return client_for(stranger)


@pytest.fixture
def package(hospital):
    category, _ = Category.objects.get_or_create(hospital=hospital, name="入职体检", defaults={"state": "published"})
    return Product.objects.create(
        hospital=hospital,
        category=category,
        kind=Product.Kind.PACKAGE,
        name="入职体检套餐",
        code="PKG-1",
        price=Decimal("299.00"),
        state="published",
    )


@pytest.fixture
def checkup_day(hospital):
    return CheckupDay.objects.create(hospital=hospital, date=tomorrow(), capacity=3)


PERSON = {"name": "林雅琴", "phone": "13900001342", "id_number": "350302198807211147"}

"""Fixtures shared by every test folder: hospitals onboarded from YAML, operators, clients."""

import textwrap

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from hcm.hospitals.config import parse_config
from hcm.hospitals.roles import Role
from hcm.hospitals.services import hospital_onboard

ALL_FEATURES = "[site, mall, appointments, reports, recharge, outpatient, distribution]"


def make_hospital(code: str, *, name: str | None = None, features: str = ALL_FEATURES, extra: str = ""):
    text = f"code: {code}\nname: {name or code.upper() + ' 医院'}\nfeatures: {features}\n" + textwrap.dedent(extra)
    return hospital_onboard(config=parse_config(text, filename=f"{code}.yaml")).hospital


def make_operator(username: str, *, hospital=None, role: str = Role.HOSPITAL_ADMIN, password: str = "pw-123456"):
    from hcm.hospitals.management.commands.demo_accounts import ensure_operator

    return ensure_operator(username=username, password=password, hospital=hospital, role=role)


@pytest.fixture
def hospital_a(db):
    return make_hospital("hospa", name="甲医院")


@pytest.fixture
def hospital_b(db):
    return make_hospital("hospb", name="乙医院")


@pytest.fixture
def admin_a(hospital_a):
    return make_operator("admin_a", hospital=hospital_a)


@pytest.fixture
def admin_b(hospital_b):
    return make_operator("admin_b", hospital=hospital_b)


@pytest.fixture
def platform_admin(db):
    return make_operator("platform", role=Role.PLATFORM_ADMIN)


def staff_client(user) -> APIClient:
    """A client sending a staff API token of `user`, issued the way the token endpoint issues it."""
    client = APIClient()
    _instance, key = AuthToken.objects.create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture(autouse=True)
def fresh_cache():
    """Throttle counters and cached values never leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def notification_outbox():
    """Notifications sent by a test (the locmem backend), empty at the start of each test."""
    from hcm.notifications import backends

    backends.reset()
    yield backends.outbox
    backends.reset()


@pytest.fixture(autouse=True)
def no_server_errors():
    """No request anywhere in the suite may end in an unhandled exception (a 500)."""
    from django.core.signals import got_request_exception

    failures = []

    def record(sender, request=None, **kwargs):
        failures.append(getattr(request, "path", "?"))

    got_request_exception.connect(record)
    yield
    got_request_exception.disconnect(record)
    assert not failures, f"requests ended in a server error: {failures}"

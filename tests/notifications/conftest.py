"""Hospitals with WeChat templates, their patients' accounts, a clock to travel in, a clean outbox."""

from datetime import UTC, datetime, timedelta

import pytest

from hcm.notifications import backends
from hcm.patients.models import WechatAccount
from tests.conftest import make_hospital

TEMPLATES = """
notifications:
  wechat_templates:
    order_paid: TPL-PAID
    refund: TPL-REFUND
  sms:
    provider: console
    sign: 甲医院
    templates:
      verification_code: SMS_0001
integrations:
  wechat:
    app_id: wx0123456789abcdef
    app_secret_env: HOSPA_WECHAT_SECRET
"""


@pytest.fixture(autouse=True)
def outbox():
    backends.reset()
    yield backends.outbox
    backends.reset()


@pytest.fixture
def hospital(db):
    return make_hospital("hospa", name="甲医院", extra=TEMPLATES)


@pytest.fixture
def other_hospital(db):
    extra = TEMPLATES.replace("wx0123456789abcdef", "wx9999456789abcdef").replace("HOSPA", "HOSPB")
    return make_hospital("hospb", name="乙医院", extra=extra)


@pytest.fixture
def account(hospital):
    return WechatAccount.objects.create(hospital=hospital, openid="oPatient01")


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    """django.utils.timezone.now, stopped at a known instant and moved only by the test."""
    clock = Clock(datetime(2026, 1, 5, 1, 0, tzinfo=UTC))
    monkeypatch.setattr("django.utils.timezone.now", lambda: clock.now)
    return clock

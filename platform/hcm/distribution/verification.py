"""Text-message verification codes: sent through the hospital's SMS provider, stored as a keyed
digest, valid for a few minutes, used once, and rate-limited per phone and per client address.

Limits are counted from the codes table itself, so they hold across processes and restarts.
A wrong guess is committed before the refusal is raised, so guessing costs the code its life.
"""

import hashlib
import hmac
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hcm.distribution.models import VerificationCode
from hcm.hospitals.models import Hospital
from hcm.lowcode.errors import DomainError
from hcm.lowcode.numbers import random_digits
from hcm.lowcode.throttling import wait_text
from hcm.notifications.sms import SmsFailed, sms_send

log = logging.getLogger(__name__)

CODE_LENGTH = 6
CODE_TTL = timedelta(minutes=5)
MAX_WRONG_ATTEMPTS = 5
RESEND_AFTER = timedelta(seconds=60)  # per phone
PER_PHONE_PER_HOUR = 5
PER_IP_PER_HOUR = 20
SMS_TEMPLATE = "verification_code"


class CodeRefused(DomainError):
    code = "invalid_sms_code"


class TooManyCodes(DomainError):
    code = "sms_rate_limited"
    status = 429


def _digest(*, hospital_id: int, phone: str, code: str) -> str:
    message = f"{hospital_id}:{phone}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _wait(codes, *, limit: int, period: timedelta, now) -> str | None:
    """How long until fewer than `limit` of `codes` were sent within `period`; None if they are."""
    sent = list(codes.filter(created_at__gt=now - period).order_by("-created_at").values_list("created_at", flat=True))
    if len(sent) < limit:
        return None
    return wait_text((sent[limit - 1] + period - now).total_seconds())


def _check_limits(*, hospital: Hospital, phone: str, ip_address: str | None, now) -> None:
    codes = VerificationCode.objects.filter(hospital=hospital)
    wait = _wait(codes.filter(phone=phone), limit=1, period=RESEND_AFTER, now=now)
    if wait:
        raise TooManyCodes(_("A code was sent to this phone a moment ago; please wait %(wait)s.") % {"wait": wait})
    wait = _wait(codes.filter(phone=phone), limit=PER_PHONE_PER_HOUR, period=timedelta(hours=1), now=now)
    if wait:
        raise TooManyCodes(_("Too many codes were sent to this phone; please try again in %(wait)s.") % {"wait": wait})
    wait = ip_address and _wait(
        codes.filter(ip_address=ip_address), limit=PER_IP_PER_HOUR, period=timedelta(hours=1), now=now
    )
    if wait:
        raise TooManyCodes(_("Too many codes were requested; please try again in %(wait)s.") % {"wait": wait})


def code_send(*, hospital: Hospital, phone: str, purpose: str, ip_address: str | None) -> VerificationCode:
    """A new code for `phone`, texted after commit; refused past the per-phone and per-address limits."""
    if hospital.settings.notifications.sms.provider == "none":
        raise DomainError(
            _("This hospital cannot send text messages; please contact the hospital."),
            code="sms_unavailable",
            status=409,
        )
    code = random_digits(CODE_LENGTH)
    with transaction.atomic():
        # Two requests in the same instant may both pass the count: the limits bound abuse, they
        # are not an invariant worth locking the hospital row for.
        now = timezone.now()
        _check_limits(hospital=hospital, phone=phone, ip_address=ip_address, now=now)
        record = VerificationCode.objects.create(
            hospital=hospital,
            phone=phone,
            purpose=purpose,
            digest=_digest(hospital_id=hospital.pk, phone=phone, code=code),
            ip_address=ip_address,
            expires_at=now + CODE_TTL,
            created_at=now,
        )
        transaction.on_commit(lambda: _text(hospital, phone, code), robust=True)
    return record


def _text(hospital: Hospital, phone: str, code: str) -> None:
    minutes = int(CODE_TTL.total_seconds() // 60)
    try:
        sms_send(hospital=hospital, phone=phone, template=SMS_TEMPLATE, params={"code": code, "minutes": minutes})
    except SmsFailed as error:  # the patient asks for another code after the wait
        log.warning("%s: verification code not sent: %s", hospital.code, error)


def code_verify(*, hospital: Hospital, phone: str, purpose: str, code: str) -> None:
    """Passes once for the latest unexpired code of `phone`; a wrong guess is counted and committed.

    Call it outside any transaction a refusal would roll back, or the count is lost with it.
    """
    refusal = _attempt(hospital=hospital, phone=phone, purpose=purpose, code=code or "")
    if refusal is not None:
        raise refusal


def _attempt(*, hospital: Hospital, phone: str, purpose: str, code: str) -> DomainError | None:
    message = _("The verification code is wrong or has expired.")
    invalid = CodeRefused(message, fields={"code": [message]})
    with transaction.atomic():
        now = timezone.now()
        record = (
            VerificationCode.objects.select_for_update()
            .filter(hospital=hospital, phone=phone, purpose=purpose, used_at__isnull=True, expires_at__gt=now)
            .order_by("-created_at", "-pk")
            .first()
        )
        if record is None or record.attempts >= MAX_WRONG_ATTEMPTS:
            return invalid
        expected = _digest(hospital_id=hospital.pk, phone=phone, code=code)
        if not hmac.compare_digest(record.digest, expected):
            record.attempts += 1
            record.save(update_fields=["attempts"])
            return invalid
        record.used_at = now
        record.save(update_fields=["used_at"])
    return None

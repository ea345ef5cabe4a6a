"""Text messages (verification codes and the like) through the provider a hospital configures.

`notifications.sms.provider` names the provider; `notifications.sms.templates` maps our
template names (e.g. "verification_code") to the provider's template ids.
"""

import logging
from typing import Protocol

from hcm.hospitals.models import Hospital
from hcm.patients.identity import mask_phone

logger = logging.getLogger(__name__)


class SmsFailed(Exception):
    """The provider did not accept the message."""


class SmsProvider(Protocol):
    def send(self, *, sign: str, phone: str, template: str, template_id: str, params: dict[str, str]) -> None: ...


class ConsoleSms:
    """Development: the message goes to the log (codes included, so they can be typed in)."""

    def send(self, *, sign: str, phone: str, template: str, template_id: str, params: dict[str, str]) -> None:
        values = ", ".join(f"{key}={value}" for key, value in params.items())
        logger.info("SMS [%s] to %s: %s (%s) %s", sign, mask_phone(phone), template, template_id or "-", values)


class NoSms:
    """The hospital sends no text messages."""

    def send(self, *, sign: str, phone: str, template: str, template_id: str, params: dict[str, str]) -> None:
        return None


PROVIDERS: dict[str, SmsProvider] = {"console": ConsoleSms(), "none": NoSms()}


def sms_send(*, hospital: Hospital, phone: str, template: str, params: dict[str, str]) -> bool:
    """Send the text message `template` to `phone`; False when the hospital sends none. Raises SmsFailed."""
    config = hospital.settings.notifications.sms
    if config.provider == "none":
        return False
    PROVIDERS[config.provider].send(
        sign=config.sign,
        phone=phone,
        template=template,
        template_id=config.templates.get(template, ""),
        params={str(key): str(value) for key, value in params.items()},
    )
    return True

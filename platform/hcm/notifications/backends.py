"""Where notifications go, chosen by settings.HCM_NOTIFICATION_BACKEND.

A backend's `send(notification)` returns when the message was accepted and raises when it was
not; the service records either outcome on the row. Backends never touch the database.
"""

import logging
from typing import Protocol

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from hcm.notifications.models import Notification
from hcm.notifications.wechat_client import NotConfigured, official_account_client

logger = logging.getLogger(__name__)


class SendFailed(Exception):
    """The message was not accepted; the text is stored on the row (never a secret)."""


class Backend(Protocol):
    def send(self, notification: Notification) -> None: ...


def render(notification: Notification) -> str:
    """The message as one line of text, for logs."""
    fields = "; ".join(f"{key}={value}" for key, value in notification.data.items())
    return (
        f"[{notification.hospital.code}] {notification.event} to {notification.openid} "
        f"(template {notification.template_id}): {fields} {notification.url}".rstrip()
    )


class ConsoleBackend:
    """Development: the message goes to the log."""

    def send(self, notification: Notification) -> None:
        logger.info("WeChat template message %s", render(notification))


# --- Tests: a list, like django.core.mail.outbox ---------------------------------------------

outbox: list[Notification] = []
_failures: list[str] = []


def fail_next(times: int = 1, *, error: str = "WeChat is unavailable") -> None:
    """Make the next `times` sends through the locmem backend fail with `error`."""
    _failures.extend([error] * times)


def reset() -> None:
    """Empty the outbox and forget pending failures."""
    outbox.clear()
    _failures.clear()


class LocmemBackend:
    """Tests: messages are appended to `outbox`; `fail_next()` makes sends fail."""

    def send(self, notification: Notification) -> None:
        if _failures:
            raise SendFailed(_failures.pop(0))
        outbox.append(notification)


# --- WeChat template messages through the hospital's official account ------------------------


class WechatBackend:
    """Template messages through wechatpy, with the hospital's app id and secret."""

    timeout_seconds = 5

    def client(self, notification: Notification) -> WeChatClient:
        try:
            return official_account_client(notification.hospital, timeout=self.timeout_seconds)
        except NotConfigured as error:
            raise SendFailed(str(error)) from None

    def send(self, notification: Notification) -> None:
        if not notification.template_id or not notification.openid:
            raise SendFailed("The notification has no template id or no openid.")
        client = self.client(notification)
        data = {key: {"value": value} for key, value in notification.data.items()}
        try:
            client.message.send_template(
                notification.openid, notification.template_id, data, url=notification.url or None
            )
        except WeChatClientException as error:
            if error.errcode is None:  # an HTTP error status, not WeChat's answer
                raise SendFailed("WeChat did not answer properly (HTTP error).") from None
            raise SendFailed(f"WeChat refused the message: errcode {error.errcode}, {error.errmsg}") from None
        except (requests.RequestException, ValueError, KeyError) as error:
            # The text of a requests error names the URL, which carries the token or the secret.
            raise SendFailed(f"WeChat did not answer ({type(error).__name__}).") from None


BACKENDS = {"console": ConsoleBackend, "locmem": LocmemBackend, "wechat": WechatBackend}


def get_backend() -> Backend:
    """The backend named by settings.HCM_NOTIFICATION_BACKEND."""
    name = settings.HCM_NOTIFICATION_BACKEND
    try:
        return BACKENDS[name]()
    except KeyError:
        raise ImproperlyConfigured(
            f"HCM_NOTIFICATION_BACKEND is {name!r}; expected one of {', '.join(sorted(BACKENDS))}."
        ) from None

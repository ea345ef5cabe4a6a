"""Where notifications go, chosen by settings.HCM_NOTIFICATION_BACKEND.

A backend's `send(notification)` returns when the message was accepted and raises when it was
not; the service records either outcome on the row. Backends never touch the database.
"""

import logging
from typing import Protocol

import requests
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from hcm.env import env_str
from hcm.notifications.models import Notification

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


class _TimeoutSession(requests.Session):
    """wechatpy fetches its access token without a timeout; every request gets one here."""

    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout

    def request(self, method, url, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().request(method, url, **kwargs)


class _TokenCache(SessionStorage):
    """wechatpy's access-token storage in Django's cache, one namespace per hospital.

    Shared by every process (with Redis), so workers do not each fetch a token: WeChat limits
    token requests per day and a new token retires the previous one within minutes.
    """

    def __init__(self, prefix: str):
        self.prefix = prefix

    def get(self, key, default=None):
        return cache.get(f"{self.prefix}:{key}", default)

    def set(self, key, value, ttl=None):
        if value is not None:
            # Forget the token well before WeChat does, so a cached one is never about to expire.
            cache.set(f"{self.prefix}:{key}", value, None if ttl is None else max(int(ttl) - 300, 60))

    def delete(self, key):
        cache.delete(f"{self.prefix}:{key}")


class WechatBackend:
    """Template messages through wechatpy, with the hospital's app id and secret."""

    timeout_seconds = 5

    def client(self, notification: Notification) -> WeChatClient:
        hospital = notification.hospital
        wechat = hospital.settings.integrations.wechat
        secret = env_str(wechat.app_secret_env) if wechat.app_secret_env else None
        if not wechat.app_id or not secret:
            raise SendFailed(f"WeChat app id or secret is not configured for hospital {hospital.code}.")
        client = WeChatClient(
            wechat.app_id, secret, session=_TokenCache(f"hcm:wechat:{hospital.pk}"), timeout=self.timeout_seconds
        )
        client._http = _TimeoutSession(self.timeout_seconds)
        return client

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

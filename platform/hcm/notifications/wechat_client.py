"""A hospital's official account as a wechatpy client: the hospital's app id, the app secret
from the environment variable its config names, a timeout on every request, and the access
token kept in Django's cache, one namespace per hospital (template messages and parametric QR
codes share it).
"""

import requests
from django.core.cache import cache
from wechatpy import WeChatClient
from wechatpy.session import SessionStorage

from hcm.env import env_str
from hcm.hospitals.models import Hospital


class NotConfigured(Exception):
    """The hospital's config names no app id, or the app secret's variable is empty."""


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


def official_account_client(hospital: Hospital, *, timeout: float = 5) -> WeChatClient:
    """The hospital's official account; raises NotConfigured without an app id or secret."""
    wechat = hospital.settings.integrations.wechat
    secret = env_str(wechat.app_secret_env) if wechat.app_secret_env else None
    if not wechat.app_id or not secret:
        raise NotConfigured(f"WeChat app id or secret is not configured for hospital {hospital.code}.")
    client = WeChatClient(wechat.app_id, secret, session=_TokenCache(f"hcm:wechat:{hospital.pk}"), timeout=timeout)
    client._http = _TimeoutSession(timeout)
    return client

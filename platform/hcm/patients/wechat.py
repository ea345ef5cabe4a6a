"""WeChat official-account web authorisation (OAuth2) for one hospital, through wechatpy.

Each hospital has its own app id, so an openid means something only at the hospital whose
app issued it. The app secret is read from the environment variable the config names.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from wechatpy.exceptions import WeChatOAuthException
from wechatpy.oauth import WeChatOAuth

from hcm.env import env_str
from hcm.hospitals.models import Hospital
from hcm.lowcode.errors import DomainError

SCOPES = ("snsapi_base", "snsapi_userinfo")


class WechatUnavailable(DomainError):
    code = "wechat_unavailable"
    status = 503


class _OAuth(WeChatOAuth):
    """wechatpy's client with a timeout: a WeChat that hangs must not hang a web worker."""

    timeout_seconds = 5

    def _request(self, method, url_or_endpoint, **kwargs):
        kwargs.setdefault("timeout", self.timeout_seconds)
        return super()._request(method, url_or_endpoint, **kwargs)


@dataclass(frozen=True)
class WechatIdentity:
    openid: str
    unionid: str = ""
    nickname: str = ""
    avatar_url: str = ""


def oauth_client(hospital: Hospital, *, redirect_uri: str = "", scope: str = "snsapi_base", state: str = ""):
    """A wechatpy OAuth client for the hospital's official account."""
    wechat = hospital.settings.integrations.wechat
    secret = env_str(wechat.app_secret_env) if wechat.app_secret_env else None
    if not wechat.app_id or not secret:
        raise WechatUnavailable(_("WeChat sign-in is not configured for this hospital."))
    return _OAuth(wechat.app_id, secret, redirect_uri, scope=scope, state=state)


def authorize_url(hospital: Hospital, *, redirect_uri: str, scope: str, state: str) -> str:
    """Where the patient's browser goes to authorise; WeChat comes back to `redirect_uri` with a code."""
    wechat = hospital.settings.integrations.wechat
    if not wechat.app_id:
        raise WechatUnavailable(_("WeChat sign-in is not configured for this hospital."))
    return _OAuth(wechat.app_id, "", redirect_uri, scope=scope, state=state).authorize_url


def identity_from_code(hospital: Hospital, *, code: str) -> WechatIdentity:
    """Exchange an authorisation code for the user's openid (and profile, when authorised)."""
    client = oauth_client(hospital)
    try:
        token = client.fetch_access_token(code)
        profile = client.get_user_info() if "snsapi_userinfo" in token.get("scope", "") else {}
    except WeChatOAuthException as error:
        if error.errcode is None:  # WeChat did not answer properly (network, 5xx)
            raise WechatUnavailable(_("WeChat is not responding; please try again later.")) from None
        raise DomainError(
            _("The WeChat authorisation has expired or is invalid; please sign in again."), code="wechat_code_invalid"
        ) from None
    except (OSError, ValueError, KeyError):  # no answer, or not WeChat's JSON
        raise WechatUnavailable(_("WeChat is not responding; please try again later.")) from None
    return WechatIdentity(
        openid=token["openid"],
        unionid=profile.get("unionid") or token.get("unionid") or "",
        nickname=(profile.get("nickname") or "")[:64],
        avatar_url=(profile.get("headimgurl") or "")[:500],
    )

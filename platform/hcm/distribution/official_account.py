"""Invitation QR codes drawn by the hospital's official account (config
`distribution.official_account_qr`): scanning one offers to follow the account, and WeChat tells
the account's server the scene, `d:<invite code>` or `m:<invite code>`.

They are permanent string-scene codes (QR_LIMIT_STR_SCENE; an account may make 100,000), so a
ticket is asked for once per hospital, app id, distributor and target and then kept in the cache.
"""

import logging

import requests
from django.core.cache import cache
from django.utils.translation import gettext as _
from wechatpy.client.api import WeChatQRCode
from wechatpy.exceptions import WeChatClientException

from hcm.distribution.links import INVITE_DISTRIBUTOR, INVITE_MEMBER
from hcm.distribution.models import Distributor
from hcm.hospitals.models import Hospital
from hcm.notifications.wechat_client import NotConfigured, official_account_client
from hcm.patients.wechat import WechatUnavailable

logger = logging.getLogger(__name__)

SCENE_PREFIXES = {INVITE_DISTRIBUTOR: "d", INVITE_MEMBER: "m"}
TIMEOUT_SECONDS = 5


def scene(distributor: Distributor, target: str) -> str:
    """What WeChat reports when the code is scanned (at most 64 characters; invite codes have 16)."""
    return f"{SCENE_PREFIXES[target]}:{distributor.invite_code}"


def official_account_qr(distributor: Distributor, target: str) -> dict:
    """The ticket and image URL of the distributor's invitation; raises WechatUnavailable (503)."""
    hospital = distributor.hospital
    scene_str = scene(distributor, target)
    # The app id is in the key: another account's tickets mean nothing to this one.
    key = f"hcm:wechat:{hospital.pk}:qr:{hospital.settings.integrations.wechat.app_id}:{scene_str}"
    ticket = cache.get(key)
    if ticket is None:
        ticket = _create_ticket(hospital, scene_str)
        cache.set(key, ticket, None)  # a permanent code's ticket never expires
    return {"ticket": ticket, "url": WeChatQRCode.get_url(ticket)}


def _create_ticket(hospital: Hospital, scene_str: str) -> str:
    unavailable = WechatUnavailable(_("WeChat is not responding; please try again later."))
    try:
        client = official_account_client(hospital, timeout=TIMEOUT_SECONDS)
        answer = client.qrcode.create(
            {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene_str}}}
        )
        return str(answer["ticket"])
    except NotConfigured as error:
        logger.warning("Official account QR codes are on but %s", error)
        raise unavailable from None
    except WeChatClientException as error:
        logger.warning("WeChat refused a QR code at hospital %s: errcode %s", hospital.code, error.errcode)
        raise unavailable from None
    except (requests.RequestException, ValueError, KeyError, TypeError) as error:
        # Only the type: the text of a requests error names the URL, which carries the token or the secret.
        logger.warning(
            "WeChat did not answer a QR code request at hospital %s (%s)", hospital.code, type(error).__name__
        )
        raise unavailable from None

"""WeChat Pay (v2 API, MD5 signatures) behind our own small interface, through wechatpy.

wechatpy's `parse_payment_result` compares signatures with `!=`; notifications are verified
here with `hmac.compare_digest` instead. `client_ip` and `time_expire` are always passed, so
wechatpy never looks up the server's address over the network. A v3 client can replace
`WechatPayClient` without touching the services.
"""

import hmac
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import xmltodict
from django.utils.translation import gettext as _
from wechatpy.exceptions import WeChatPayException
from wechatpy.pay import WeChatPay
from wechatpy.pay.utils import calculate_signature, dict_to_xml

from hcm.env import env_str
from hcm.hospitals.models import Hospital
from hcm.lowcode.errors import DomainError

CHINA = ZoneInfo("Asia/Shanghai")
TIMEOUT_SECONDS = 5


class WechatPayUnavailable(DomainError):
    code = "wechat_pay_unavailable"
    status = 503


class InvalidNotification(Exception):
    """A notification whose signature, merchant or shape is wrong: answered FAIL."""


def to_fen(amount: Decimal) -> int:
    return int((amount * 100).to_integral_exact())


def from_fen(fen: int | str) -> Decimal:
    return (Decimal(int(fen)) / 100).quantize(Decimal("0.01"))


def reply(ok: bool, message: str = "OK") -> str:
    """The XML answer WeChat expects from a notification endpoint."""
    return dict_to_xml({"return_code": "SUCCESS" if ok else "FAIL", "return_msg": message})


class WechatPayClient:
    def __init__(self, *, app_id: str, mch_id: str, api_key: str, cert: str | None = None, key: str | None = None):
        self.mch_id = mch_id
        self.api_key = api_key
        self.pay = WeChatPay(app_id, api_key, mch_id, mch_cert=cert, mch_key=key, timeout=TIMEOUT_SECONDS)

    def _call(self, func, **kwargs) -> dict:
        try:
            return func(**kwargs)
        except WeChatPayException as error:
            if error.return_code is None:  # no proper answer (network, HTTP error)
                raise WechatPayUnavailable(_("WeChat Pay is not responding; please try again later.")) from None
            raise DomainError(
                _("WeChat Pay refused the request: %(reason)s") % {"reason": error.errmsg or error.return_msg or ""},
                code="wechat_pay_refused",
                status=502,
            ) from None
        except (OSError, ValueError):
            raise WechatPayUnavailable(_("WeChat Pay is not responding; please try again later.")) from None

    def unified_order(
        self,
        *,
        out_trade_no: str,
        body: str,
        amount: Decimal,
        notify_url: str,
        client_ip: str,
        openid: str,
        expires_at: datetime,
    ) -> str:
        """Create the JSAPI order at WeChat; returns the prepay id."""
        result = self._call(
            self.pay.order.create,
            trade_type="JSAPI",
            body=body[:128],
            total_fee=to_fen(amount),
            notify_url=notify_url,
            client_ip=client_ip,
            user_id=openid,
            out_trade_no=out_trade_no,
            time_expire=expires_at.astimezone(CHINA),
        )
        return result["prepay_id"]

    def jsapi_params(self, prepay_id: str) -> dict:
        """What the page passes to WeixinJSBridge.invoke('getBrandWCPayRequest', ...)."""
        return self.pay.jsapi.get_jsapi_params(prepay_id)

    def query(self, out_trade_no: str) -> dict:
        return self._call(self.pay.order.query, out_trade_no=out_trade_no)

    def close(self, out_trade_no: str) -> dict:
        return self._call(self.pay.order.close, out_trade_no=out_trade_no)

    def refund(
        self, *, out_trade_no: str, out_refund_no: str, total: Decimal, amount: Decimal, reason: str, notify_url: str
    ):
        return self._call(
            self.pay.refund.apply,
            total_fee=to_fen(total),
            refund_fee=to_fen(amount),
            out_refund_no=out_refund_no,
            out_trade_no=out_trade_no,
            refund_desc=reason[:80],
            notify_url=notify_url,
        )

    def refund_query(self, out_refund_no: str) -> dict:
        return self._call(self.pay.refund.query, out_refund_no=out_refund_no)

    def parse_notification(self, body: bytes) -> dict:
        """A payment notification, verified: signature (constant time) and merchant id."""
        data = _parse_xml(body)
        signature = data.pop("sign", "")
        expected = calculate_signature(data, self.api_key)
        if not hmac.compare_digest(str(signature).encode(), expected.encode()):
            raise InvalidNotification("bad signature")
        if data.get("mch_id") != self.mch_id:
            raise InvalidNotification("wrong merchant")
        return data

    def parse_refund_notification(self, body: bytes) -> dict:
        """A refund notification: its req_info is encrypted with the API key, which authenticates it."""
        try:
            return self.pay.parse_refund_notify_result(body)
        except Exception as error:  # wechatpy raises several types for bad input
            raise InvalidNotification(f"undecryptable refund notification: {type(error).__name__}") from None


def _parse_xml(body: bytes) -> dict:
    try:
        parsed = xmltodict.parse(body)
    except Exception:
        raise InvalidNotification("not XML") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("xml"), dict):
        raise InvalidNotification("not a WeChat notification")
    return dict(parsed["xml"])


class SandboxWechatPayClient(WechatPayClient):
    """Demo hospitals (`integrations.wechat.sandbox`) with no merchant key: WeChat's answers are
    made here instead of on WeChat's servers, and `payments/sandbox/pay/` signs the notification
    WeChat would send with this client's key, so the demo pays through the real notify path."""

    API_KEY = "sandbox-not-a-real-merchant-key-0"

    def __init__(self, *, app_id: str, mch_id: str):
        super().__init__(app_id=app_id or "wxsandbox", mch_id=mch_id or "sandbox", api_key=self.API_KEY)

    def unified_order(self, *, out_trade_no: str, **kwargs) -> str:
        return f"sandbox-{out_trade_no}"

    def query(self, out_trade_no: str) -> dict:
        return {"trade_state": "NOTPAY", "out_trade_no": out_trade_no}

    def close(self, out_trade_no: str) -> dict:
        return {"result_code": "SUCCESS"}

    def refund(self, *, out_refund_no: str, **kwargs) -> dict:
        return {"refund_id": f"sandbox-{out_refund_no}"}

    def refund_query(self, out_refund_no: str) -> dict:
        return {"refund_count": "1", "refund_status_0": "SUCCESS"}

    def signed_notification(self, *, out_trade_no: str, amount: Decimal, openid: str) -> bytes:
        """The payment notification WeChat would send for this trade, signed with the sandbox key."""
        data = {
            "appid": self.pay.appid,
            "mch_id": self.mch_id,
            "nonce_str": out_trade_no[-16:],
            "openid": openid,
            "out_trade_no": out_trade_no,
            "result_code": "SUCCESS",
            "return_code": "SUCCESS",
            "total_fee": str(to_fen(amount)),
            "trade_type": "JSAPI",
            "transaction_id": f"sandbox-{out_trade_no}",
        }
        return dict_to_xml(data, calculate_signature(data, self.api_key)).encode()


def client_for(hospital: Hospital) -> WechatPayClient:
    """The WeChat Pay merchant client of a hospital, with secrets from the environment (the
    sandbox client for a demo hospital that has none, where the deployment allows sandboxes)."""
    wechat = hospital.settings.integrations.wechat
    api_key = env_str(wechat.api_key_env) if wechat.api_key_env else None
    if hospital.sandbox_enabled and not api_key:
        return SandboxWechatPayClient(app_id=wechat.app_id, mch_id=wechat.mch_id)
    if not (wechat.app_id and wechat.mch_id and api_key):
        raise WechatPayUnavailable(_("WeChat Pay is not configured for this hospital."))
    cert = env_str(wechat.cert_path_env) if wechat.cert_path_env else None
    key = env_str(wechat.key_path_env) if wechat.key_path_env else None
    return WechatPayClient(app_id=wechat.app_id, mch_id=wechat.mch_id, api_key=api_key, cert=cert, key=key)

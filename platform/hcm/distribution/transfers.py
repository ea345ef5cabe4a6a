"""Paying a withdrawal to the distributor's WeChat balance, behind our own small interface.

`client_for(hospital)` answers an object with `transfer(...)`; the WeChat implementation uses
wechatpy's enterprise payment (v2 API) with the hospital's merchant. The merchant's order number
is the withdrawal number, so a retry after a lost answer pays at most once. The server address
is always passed, so wechatpy never looks it up over the network. Tests replace `client_for`.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.utils.translation import gettext as _
from wechatpy.exceptions import WeChatPayException

from hcm.hospitals.models import Hospital
from hcm.lowcode.errors import DomainError
from hcm.payments import wechatpay


class TransferUnanswered(DomainError):
    """No proper answer (network, timeout): the outcome is unknown; retry with the same number."""

    code = "transfer_unanswered"
    status = 503


class TransferRefused(DomainError):
    """WeChat answered and refused: nothing was paid."""

    code = "transfer_refused"
    status = 502


@dataclass(frozen=True)
class TransferResult:
    reference: str  # WeChat's payment number


class TransferClient(Protocol):
    def transfer(
        self, *, number: str, openid: str, amount: Decimal, description: str, real_name: str
    ) -> TransferResult: ...


class WechatTransferClient:
    """Enterprise payment to the openid's WeChat balance (企业付款到零钱)."""

    def __init__(self, client: wechatpay.WechatPayClient):
        self.client = client

    def transfer(
        self, *, number: str, openid: str, amount: Decimal, description: str, real_name: str
    ) -> TransferResult:
        try:
            answer = self.client.pay.transfer.transfer(
                user_id=openid,
                amount=wechatpay.to_fen(amount),
                desc=description[:100],
                client_ip=getattr(settings, "HCM_SERVER_IP", "127.0.0.1"),
                check_name="NO_CHECK",
                out_trade_no=number,
            )
        except WeChatPayException as error:
            if error.return_code is None:
                raise TransferUnanswered(_("WeChat Pay is not responding; please try again later.")) from None
            raise TransferRefused(
                _("WeChat Pay refused the request: %(reason)s") % {"reason": error.errmsg or error.return_msg or ""}
            ) from None
        except (OSError, ValueError):
            raise TransferUnanswered(_("WeChat Pay is not responding; please try again later.")) from None
        return TransferResult(reference=str(answer.get("payment_no", "")))


def client_for(hospital: Hospital) -> TransferClient:
    """The transfer client of a hospital's WeChat merchant (WechatPayUnavailable when not configured)."""
    return WechatTransferClient(wechatpay.client_for(hospital))

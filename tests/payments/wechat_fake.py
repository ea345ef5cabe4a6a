"""WeChat Pay's v2 API as the tests see it: signed XML answers on WeChat's own URLs (through
`responses`) and signed notifications, made with the same test key the hospital is configured
with, so the real client code verifies and parses them."""

import hashlib

import responses
import xmltodict
from wechatpy.crypto import RefundCrypto
from wechatpy.pay.utils import calculate_signature, dict_to_xml

API = "https://api.mch.weixin.qq.com/"
APP_ID = "wx0123456789abcdef"
MCH_ID = "1900000109"
API_KEY = "test-api-key-0123456789abcdefghij"

CONFIG = f"""
integrations:
  wechat:
    sandbox: true
    app_id: {APP_ID}
    app_secret_env: TEST_WECHAT_SECRET
    mch_id: "{MCH_ID}"
    api_key_env: TEST_WECHAT_API_KEY
    notify_base_url: https://hcm.example.org
"""


def signed_xml(data: dict, key: str = API_KEY) -> str:
    data = {k: str(v) for k, v in data.items()}
    return dict_to_xml(data, calculate_signature(data, key))


def _answer(extra: dict) -> str:
    return signed_xml(
        {
            "return_code": "SUCCESS",
            "result_code": "SUCCESS",
            "appid": APP_ID,
            "mch_id": MCH_ID,
            "nonce_str": "n",
            **extra,
        }
    )


def requests_to(endpoint: str) -> list[dict]:
    """The bodies our client sent to one endpoint, parsed."""
    return [xmltodict.parse(call.request.body)["xml"] for call in responses.calls if call.request.url == API + endpoint]


def stub_unified_order(prepay_id: str = "wx201410272009395522657a690389285100") -> None:
    responses.post(API + "pay/unifiedorder", body=_answer({"prepay_id": prepay_id, "trade_type": "JSAPI"}))


def stub_query(*, trade_state: str, out_trade_no: str = "", total_fee: int = 0, transaction_id: str = "") -> None:
    responses.post(
        API + "pay/orderquery",
        body=_answer(
            {
                "trade_state": trade_state,
                "out_trade_no": out_trade_no,
                "total_fee": total_fee,
                "transaction_id": transaction_id,
            }
        ),
    )


def stub_close() -> None:
    responses.post(API + "pay/closeorder", body=_answer({}))


def stub_refund(refund_id: str = "50000000382019052709732678859") -> None:
    responses.post(API + "secapi/pay/refund", body=_answer({"refund_id": refund_id}))


def stub_refund_query(*, status: str) -> None:
    responses.post(API + "pay/refundquery", body=_answer({"refund_count": 1, "refund_status_0": status}))


def payment_notification(
    *, out_trade_no: str, total_fee: int, key: str = API_KEY, mch_id: str = MCH_ID, **extra
) -> bytes:
    data = {
        "appid": APP_ID,
        "bank_type": "CMC",
        "cash_fee": total_fee,
        "fee_type": "CNY",
        "is_subscribe": "Y",
        "mch_id": mch_id,
        "nonce_str": "5d2b6c2a8db53831f7eda20af46e531c",
        "openid": "oUpF8uMEb4qRXf22hE3X68TekukE",
        "out_trade_no": out_trade_no,
        "result_code": "SUCCESS",
        "return_code": "SUCCESS",
        "time_end": "20261123120000",
        "total_fee": total_fee,
        "trade_type": "JSAPI",
        "transaction_id": "4200000000000000000000000001",
        **extra,
    }
    return signed_xml(data, key).encode()


def refund_notification(
    *, out_refund_no: str, out_trade_no: str, refund_fee: int, total_fee: int, status: str = "SUCCESS"
) -> bytes:
    """WeChat encrypts req_info with AES-256-ECB under md5(api key) (wechatpy's RefundCrypto)."""
    inner = (
        dict_to_xml(
            {
                "out_refund_no": out_refund_no,
                "out_trade_no": out_trade_no,
                "refund_fee": str(refund_fee),
                "total_fee": str(total_fee),
                "refund_status": status,
                "refund_id": "50000000382019052709732678859",
            }
        )
        .replace("<xml>", "<root>")
        .replace("</xml>", "</root>")
    )
    key = hashlib.md5(API_KEY.encode()).hexdigest().encode()
    req_info = RefundCrypto(key).encrypt(inner).decode()
    return dict_to_xml({"return_code": "SUCCESS", "appid": APP_ID, "mch_id": MCH_ID, "req_info": req_info}).encode()

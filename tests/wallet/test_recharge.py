"""Online recharge (MISSION A7): presets and typed amounts within the config's bounds, paid by
WeChat Pay, credited through the ledger exactly once however often WeChat notifies."""

from datetime import timedelta
from decimal import Decimal

import pytest
import responses
from django.utils import timezone

from hcm.hospitals.config import parse_config
from hcm.hospitals.services import hospital_config_update
from hcm.payments import tasks
from hcm.payments.models import Payment
from hcm.wallet.models import LedgerEntry, Recharge
from tests.mall.conftest import *  # noqa: F403 - the shop, its bound patient, card and WeChat merchant
from tests.mall.conftest import SHOP
from tests.payments import wechat_fake

pytestmark = pytest.mark.django_db(transaction=True)

RECHARGE = "/api/v1/shop/patient/recharge/"
NOTIFY = "/api/v1/shop/payments/wechat/payment-notify/"


def reconfigure(hospital, *, features: str = "[mall, recharge]", config: str = SHOP) -> None:
    text = f"code: shop\nname: 商城医院\nfeatures: {features}\n{config}"
    hospital_config_update(hospital=hospital, config=parse_config(text), author=None)


def start(buyer, amount: str, **headers):
    return buyer.post(RECHARGE, {"amount": amount}, format="json", **headers)


def test_the_recharge_page_shows_the_card_presets_and_bounds(buyer, card):
    page = buyer.get(RECHARGE)

    assert page.status_code == 200
    body = page.json()
    assert body["wallet"]["balance"] == "1000.00" and body["wallet"]["holder"] == "尤**"
    assert body["presets"] == ["50.00", "100.00", "500.00", "1000.00", "2000.00"]
    assert (body["min"], body["max"], body["available"], body["notice"]) == ("1.00", "50000.00", True, "")


@responses.activate
def test_a_recharge_is_credited_once_however_often_wechat_notifies(buyer, card, api):
    wechat_fake.stub_unified_order(prepay_id="wx-prepay-recharge")

    started = start(buyer, "100.00", REMOTE_ADDR="10.9.8.7")

    assert started.status_code == 200, started.json()
    body = started.json()
    assert body["recharge"]["state"] == "pending" and body["recharge"]["amount"] == "100.00"
    assert body["wechat"]["package"] == "prepay_id=wx-prepay-recharge"
    sent = wechat_fake.requests_to("pay/unifiedorder")[0]
    assert (sent["total_fee"], sent["spbill_create_ip"]) == ("10000", "10.9.8.7")
    card.refresh_from_db()
    assert card.balance == Decimal("1000.00")  # nothing until WeChat says it is paid

    notification = wechat_fake.payment_notification(out_trade_no=body["payment"]["out_trade_no"], total_fee=10000)
    answers = [api.post(NOTIFY, notification, content_type="text/xml") for _ in range(3)]

    assert all(b"<return_code><![CDATA[SUCCESS]]>" in a.content for a in answers)
    card.refresh_from_db()
    assert card.balance == Decimal("1100.00")
    entry = LedgerEntry.objects.get(kind="online_recharge")
    recharge = Recharge.objects.get()
    assert (entry.amount, entry.balance_after, entry.reference) == (
        Decimal("100.00"),
        Decimal("1100.00"),
        f"recharge:{recharge.pk}",
    )
    assert recharge.state == "credited" and recharge.credited_at is not None
    ledger = buyer.get("/api/v1/shop/patient/wallet/entries/").json()["results"]
    assert (ledger[0]["kind"], ledger[0]["amount"]) == ("online_recharge", "100.00")
    mine = buyer.get("/api/v1/shop/patient/recharges/").json()["results"]
    assert [(r["number"], r["state"]) for r in mine] == [(recharge.number, "credited")]


@responses.activate
def test_a_typed_amount_outside_the_bounds_is_refused_and_nothing_is_written(buyer, card):
    for amount, code in (("0.50", "amount_out_of_range"), ("50000.01", "amount_out_of_range"), ("1.234", "invalid")):
        response = start(buyer, amount)
        assert response.status_code == 400, amount
        assert response.json()["code"] == code and "amount" in response.json()["fields"]
    assert (Recharge.objects.count(), Payment.objects.count(), len(responses.calls)) == (0, 0, 0)


def test_wechat_pay_switched_off_refuses_with_its_notice(hospital, buyer, card):
    reconfigure(
        hospital,
        config=SHOP.replace(
            "unpaid_order_timeout: 30m",
            "unpaid_order_timeout: 30m\n  wechat: {enabled: false, notice: 微信支付维护中，请到医院窗口充值}",
        ),
    )

    assert buyer.get(RECHARGE).json()["available"] is False
    refused = start(buyer, "100.00")

    assert refused.status_code == 409
    assert refused.json() == {
        "code": "method_disabled",
        "message": "微信支付维护中，请到医院窗口充值",
        "fields": {},
    }
    assert Recharge.objects.count() == 0


def test_a_person_without_a_card_is_told_so(buyer):
    refused = start(buyer, "100.00")

    assert refused.status_code == 409 and refused.json()["code"] == "no_card"
    assert Recharge.objects.count() == 0


@responses.activate
def test_an_idempotency_key_starts_one_recharge(buyer, card):
    wechat_fake.stub_unified_order()

    first = start(buyer, "50.00", HTTP_IDEMPOTENCY_KEY="topup-1")
    again = start(buyer, "50.00", HTTP_IDEMPOTENCY_KEY="topup-1")
    other = start(buyer, "500.00", HTTP_IDEMPOTENCY_KEY="topup-1")

    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert (Recharge.objects.count(), len(wechat_fake.requests_to("pay/unifiedorder"))) == (1, 1)


@responses.activate
def test_an_unpaid_recharge_closes_with_its_payment_and_late_money_goes_back(buyer, card, api):
    wechat_fake.stub_unified_order()
    started = start(buyer, "100.00").json()
    out_trade_no = started["payment"]["out_trade_no"]

    an_hour_ago = timezone.now() - timedelta(hours=1)  # time travel: WeChat's order has expired
    Payment.objects.update(created_at=an_hour_ago, expires_at=an_hour_ago + timedelta(minutes=15))
    wechat_fake.stub_query(trade_state="NOTPAY", out_trade_no=out_trade_no)
    wechat_fake.stub_close()
    tasks.reconcile()

    recharge = Recharge.objects.get()
    assert recharge.state == "closed" and Payment.objects.get().state == "closed"
    wechat_fake.stub_refund()
    late = wechat_fake.payment_notification(out_trade_no=out_trade_no, total_fee=10000)
    assert b"SUCCESS" in api.post(NOTIFY, late, content_type="text/xml").content
    card.refresh_from_db()
    assert card.balance == Decimal("1000.00") and not LedgerEntry.objects.filter(kind="online_recharge").exists()
    assert len(wechat_fake.requests_to("secapi/pay/refund")) == 1


def test_recharge_answers_404_where_the_hospital_has_it_off(hospital, buyer, card):
    reconfigure(hospital, features="[site, mall]")

    assert buyer.get(RECHARGE).status_code == 404
    assert start(buyer, "100.00").status_code == 404

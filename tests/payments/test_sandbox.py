"""A demo hospital (integrations.wechat.sandbox) with no merchant key pays by WeChat without
WeChat: the sandbox answers for WeChat's servers and a signed notification takes the real path."""

import pytest

from hcm.mall.models import Order
from hcm.notifications import backends
from hcm.payments.models import Payment
from tests.conftest import make_hospital
from tests.mall.conftest import *  # noqa: F403 - a bound patient of the shop, and its client
from tests.mall.conftest import make_product

pytestmark = pytest.mark.django_db(transaction=True)

SANDBOX = """
payments:
  methods: [wechat]
notifications:
  wechat_templates:
    order_paid: TPL-PAID
integrations:
  wechat: {sandbox: true, app_id: wx0000000000000000}
"""


@pytest.fixture
def hospital(db):
    return make_hospital("shop", name="演示医院", extra=SANDBOX)


@pytest.fixture
def package(hospital):
    return make_product(hospital, code="PKG-1", price="299.00")


def test_a_sandbox_hospital_pays_by_wechat_through_the_notify_path(buyer, package, monkeypatch):
    monkeypatch.delenv("TEST_WECHAT_API_KEY", raising=False)
    order = buyer.post("/api/v1/shop/patient/checkout/", {"items": [{"product": package.pk}]}, format="json").json()

    started = buyer.post(f"/api/v1/shop/patient/orders/{order['id']}/pay/", {"method": "wechat"}, format="json")

    assert started.status_code == 200, started.json()
    payment = started.json()["payment"]
    assert started.json()["wechat"]["package"] == f"prepay_id=sandbox-{payment['out_trade_no']}"
    paid = buyer.post("/api/v1/shop/payments/sandbox/pay/", {"out_trade_no": payment["out_trade_no"]}, format="json")

    assert paid.status_code == 200 and paid.json()["state"] == "paid"
    assert Order.objects.get().state == "paid"
    assert Payment.objects.get().transaction_id == f"sandbox-{payment['out_trade_no']}"
    assert [n.event for n in backends.outbox] == ["order_paid"]
    again = buyer.post("/api/v1/shop/payments/sandbox/pay/", {"out_trade_no": payment["out_trade_no"]}, format="json")
    assert again.status_code == 200 and again.json()["state"] == "paid" and len(backends.outbox) == 1


def test_the_sandbox_is_refused_where_the_hospital_is_not_a_sandbox(buyer, package, hospital, monkeypatch):
    from hcm.hospitals.config import parse_config
    from hcm.hospitals.services import hospital_config_update

    text = "code: shop\nname: 演示医院\nfeatures: [mall]\n" + SANDBOX.replace("sandbox: true", "sandbox: false")
    hospital_config_update(hospital=hospital, config=parse_config(text), author=None)
    refused = buyer.post("/api/v1/shop/payments/sandbox/pay/", {"out_trade_no": "P123"}, format="json")

    assert refused.status_code == 404 and refused.json()["code"] == "not_found"
    assert not Payment.objects.exists()


def test_another_accounts_payment_cannot_be_completed(buyer, package, hospital, monkeypatch):
    from hcm.patients.models import WechatAccount
    from tests.outpatient.conftest import client_for

    monkeypatch.delenv("TEST_WECHAT_API_KEY", raising=False)
    order = buyer.post("/api/v1/shop/patient/checkout/", {"items": [{"product": package.pk}]}, format="json").json()
    payment = buyer.post(f"/api/v1/shop/patient/orders/{order['id']}/pay/", {"method": "wechat"}, format="json").json()
    other = client_for(WechatAccount.objects.create(hospital=hospital, openid="oOther"))

    refused = other.post(
        "/api/v1/shop/payments/sandbox/pay/", {"out_trade_no": payment["payment"]["out_trade_no"]}, format="json"
    )

    assert refused.status_code == 404
    assert Payment.objects.get().state == "pending" and Order.objects.get().state == "pending_payment"


def test_a_running_sandbox_hospital_is_refused_where_the_deployment_does_not_allow_it(
    buyer, package, hospital, settings, monkeypatch
):
    from django.test import Client

    from hcm.payments.wechatpay import SandboxWechatPayClient

    monkeypatch.delenv("TEST_WECHAT_API_KEY", raising=False)
    order = buyer.post("/api/v1/shop/patient/checkout/", {"items": [{"product": package.pk}]}, format="json").json()
    started = buyer.post(f"/api/v1/shop/patient/orders/{order['id']}/pay/", {"method": "wechat"}, format="json")
    out_trade_no = started.json()["payment"]["out_trade_no"]
    settings.HCM_ALLOW_SANDBOX_HOSPITALS = False  # e.g. the same database, now served with DEBUG off

    shortcut = buyer.post("/api/v1/shop/payments/sandbox/pay/", {"out_trade_no": out_trade_no}, format="json")
    forged = SandboxWechatPayClient(app_id="wx0000000000000000", mch_id="").signed_notification(
        out_trade_no=out_trade_no, amount=package.price, openid="oBuyer"
    )
    notified = Client().post("/api/v1/shop/payments/wechat/payment-notify/", forged, content_type="text/xml")
    second = buyer.post("/api/v1/shop/patient/checkout/", {"items": [{"product": package.pk}]}, format="json").json()
    new_payment = buyer.post(f"/api/v1/shop/patient/orders/{second['id']}/pay/", {"method": "wechat"}, format="json")

    assert (shortcut.status_code, shortcut.json()["code"]) == (404, "not_found")
    assert notified.status_code == 200 and "<return_code><![CDATA[FAIL]]></return_code>" in notified.content.decode()
    assert (new_payment.status_code, new_payment.json()["code"]) == (503, "wechat_pay_unavailable")
    assert list(Payment.objects.values_list("state", flat=True)) == ["pending"]
    assert set(Order.objects.values_list("state", flat=True)) == {"pending_payment"}
    assert backends.outbox == []

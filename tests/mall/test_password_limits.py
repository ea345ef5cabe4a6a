"""Payment passwords tried when paying (and when changing the password) are limited per account
and per client address, on top of each card's own lock; paying without a password tries none."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from hcm.mall.models import Order
from hcm.patients.models import Binding, PatientRecord, PatientToken, WechatAccount
from hcm.payments.models import Payment
from hcm.wallet import services as wallet
from tests.factories import id_number

pytestmark = pytest.mark.django_db
API = "/api/v1/shop/patient/"


@pytest.fixture
def tight(settings):
    def set_rates(**rates: str):
        settings.HCM_RATES = {**settings.HCM_RATES, "payment_password": rates}

    return set_rates


def order_of(client, product) -> int:
    response = client.post(API + "checkout/", {"items": [{"product": product.pk, "quantity": 1}]}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def pay(client, order: int, ip: str = "10.0.0.1", **body):
    return client.post(f"{API}orders/{order}/pay/", body, format="json", REMOTE_ADDR=ip)


def other_buyer(hospital, n: int) -> APIClient:
    patient = PatientRecord.objects.create(
        hospital=hospital, medical_card_number=f"B{n}", name="林雅琴", id_number=id_number(), phone="13900001342"
    )
    card = wallet.account_issue(patient=patient, password="135790", operator=None)
    wallet.account_credit(account=card, amount=Decimal("1000.00"), kind="adjustment", reference=f"test:{n}")
    account = WechatAccount.objects.create(hospital=hospital, openid=f"oBuyer{n:04d}", current_patient=patient)
    Binding.objects.create(hospital=hospital, account=account, patient=patient)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {PatientToken.issue(account)[1]}")
    return client


def test_passwords_tried_are_limited_per_account_from_any_address(buyer, package, card, tight):
    tight(account="2/hour", address="100/hour")
    order = order_of(buyer, package)

    wrong = [pay(buyer, order, ip=f"10.0.0.{n}", method="balance", password="000000") for n in range(2)]
    right = pay(buyer, order, ip="10.0.0.9", method="balance", password="246810")

    assert [w.json()["code"] for w in wrong] == ["wrong_password", "wrong_password"]
    assert right.status_code == 429 and right.json()["code"] == "throttled"
    card.refresh_from_db()
    assert card.balance == Decimal("1000.00") and not Payment.objects.filter(state="paid").exists()


def test_changing_the_password_and_paying_share_the_count(buyer, package, card, tight):
    tight(account="2/hour")
    order = order_of(buyer, package)
    body = {"old_password": "000000", "new_password": "135790", "confirm_password": "135790"}

    changed = buyer.post(API + "wallet/password/", body, format="json")
    paid = pay(buyer, order, method="balance", password="246810")
    again = pay(buyer, order, method="balance", password="246810")

    assert changed.status_code == 400 and paid.status_code == 200
    assert again.status_code == 429


def test_paying_without_a_password_tries_none(buyer, package, card, tight):
    tight(account="1/hour")
    first, second = order_of(buyer, package), order_of(buyer, package)

    at_hospital = [pay(buyer, first, method="at_hospital"), pay(buyer, second, method="at_hospital")]

    assert [a.status_code for a in at_hospital] == [200, 200]


def test_many_accounts_from_one_address_are_limited_per_address(hospital, package, tight):
    tight(account="100/hour", address="2/hour")
    buyers = [other_buyer(hospital, n) for n in range(3)]
    orders = [order_of(b, package) for b in buyers]

    answers = [pay(b, o, method="balance", password="000000") for b, o in zip(buyers, orders, strict=True)]
    elsewhere = pay(buyers[2], orders[2], ip="10.0.0.2", method="balance", password="135790")

    assert [a.status_code for a in answers] == [400, 400, 429]
    assert elsewhere.status_code == 200
    assert Order.objects.filter(state="paid").count() == 1

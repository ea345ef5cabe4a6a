"""The patient's card over the API: only the current person's, masked, with its ledger."""

from decimal import Decimal

import pytest
from django.contrib.auth.hashers import check_password
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hcm.wallet import services
from hcm.wallet.models import BalanceAccount, LedgerEntry
from tests.conftest import make_hospital
from tests.wallet.conftest import make_card, make_patient, patient_client

WALLET = "/api/v1/{code}/patient/wallet/"
PASSWORD = WALLET + "password/"
ENTRIES = WALLET + "entries/"
POLICY = {"length": 6, "digits_only": True}


def change(client, old="123456", new="654321", confirm=None, code="hospa"):
    body = {"old_password": old, "new_password": new, "confirm_password": new if confirm is None else confirm}
    return client.post(PASSWORD.format(code=code), body, format="json")


def test_the_wallet_shows_the_current_persons_card_masked(hospital, patient, account):
    services.account_credit(account=account, amount=Decimal("12.34"), kind=LedgerEntry.Kind.ONLINE_RECHARGE)
    client = patient_client(hospital, patient)

    response = client.get(WALLET.format(code="hospa"))

    assert response.status_code == 200
    assert response.json() == {
        "has_card": True,
        "holder": "尤**",
        "card_number": "****" + account.card_number[-4:],
        "balance": "12.34",
        "locked": False,
        "locked_until": None,
        "remaining_tries": 3,
        "password_policy": POLICY,
    }
    assert account.card_number not in response.content.decode()


def test_a_person_without_a_card_sees_an_empty_wallet(hospital, patient):
    response = patient_client(hospital, patient).get(WALLET.format(code="hospa"))

    assert response.status_code == 200
    assert response.json() == {
        "has_card": False,
        "holder": "尤**",
        "card_number": "",
        "balance": "0.00",
        "locked": False,
        "locked_until": None,
        "remaining_tries": 3,
        "password_policy": POLICY,
    }


@pytest.mark.parametrize("url", [WALLET, ENTRIES])
def test_an_account_without_a_bound_person_is_asked_to_bind(hospital, url):
    response = patient_client(hospital, None).get(url.format(code="hospa"))

    assert response.status_code == 409 and response.json()["code"] == "binding_required"


def test_password_change_without_binding_is_asked_to_bind(hospital):
    response = change(patient_client(hospital, None))

    assert response.status_code == 409 and response.json()["code"] == "binding_required"


def test_a_patient_never_sees_another_persons_card(hospital, patient, account):
    services.account_credit(account=account, amount=Decimal("99.00"), kind=LedgerEntry.Kind.REFUND, reference="x")
    neighbour = make_patient(hospital, card="M0002", name="王小红", serial=222)
    theirs = make_card(neighbour, balance="5.00")
    client = patient_client(hospital, neighbour, openid="openid-neighbour")

    wallet = client.get(WALLET.format(code="hospa")).json()
    rows = client.get(ENTRIES.format(code="hospa")).json()["results"]

    assert (wallet["card_number"], wallet["balance"], wallet["holder"]) == (
        "****" + theirs.card_number[-4:],
        "5.00",
        "王**",
    )
    assert [row["amount"] for row in rows] == ["5.00"]


def test_the_ledger_is_newest_first_without_the_operator(hospital, patient, account, cashier):
    services.counter_topup(account=account, amount=Decimal("100.00"), operator=cashier)
    services.account_debit(
        account=account, amount=Decimal("30.00"), kind=LedgerEntry.Kind.PURCHASE, reference="mall.order:7"
    )
    client = patient_client(hospital, patient)

    body = client.get(ENTRIES.format(code="hospa")).json()

    assert body["count"] == 2
    newest, oldest = body["results"]
    assert {k: v for k, v in newest.items() if k not in ("id", "created_at")} == {
        "kind": "purchase",
        "kind_label": "Purchase",
        "amount": "-30.00",
        "balance_after": "70.00",
        "reference": "mall.order:7",
    }
    assert (oldest["kind"], oldest["amount"], oldest["balance_after"]) == ("counter_topup", "100.00", "100.00")
    assert set(newest) == {"id", "kind", "kind_label", "amount", "balance_after", "reference", "created_at"}


def test_the_ledger_is_read_in_a_constant_number_of_queries(hospital, patient, account):
    client = patient_client(hospital, patient)
    services.account_credit(account=account, amount=Decimal("1.00"), kind=LedgerEntry.Kind.REFUND, reference="r0")
    client.get(ENTRIES.format(code="hospa"))
    with CaptureQueriesContext(connection) as one:
        client.get(ENTRIES.format(code="hospa") + "?page_size=100")
    for n in range(1, 30):
        services.account_credit(
            account=account, amount=Decimal("1.00"), kind=LedgerEntry.Kind.REFUND, reference=f"r{n}"
        )
    with CaptureQueriesContext(connection) as many:
        assert client.get(ENTRIES.format(code="hospa") + "?page_size=100").json()["count"] == 30
    assert len(many) == len(one)


def test_the_patient_changes_the_payment_password(hospital, patient, account):
    response = change(patient_client(hospital, patient))

    assert response.status_code == 200
    assert response.json()["has_card"] is True and response.json()["remaining_tries"] == 3
    assert check_password("654321", BalanceAccount.objects.get().password)


@pytest.mark.parametrize(
    ("old", "new", "confirm", "code", "field"),
    [
        ("000000", "654321", None, "wrong_password", "old_password"),
        ("123456", "654321", "654320", "password_mismatch", "confirm_password"),
        ("123456", "65432", None, "invalid_password", "new_password"),
        ("123456", "123456", None, "password_unchanged", "new_password"),
    ],
)
def test_each_refused_change_answers_400_and_changes_nothing(
    hospital, patient, account, old, new, confirm, code, field
):
    response = change(patient_client(hospital, patient), old=old, new=new, confirm=confirm)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code and list(body["fields"]) == [field]
    assert check_password("123456", BalanceAccount.objects.get().password)


def test_wrong_old_passwords_lock_the_card_and_the_wallet_says_so(hospital, patient, account):
    client = patient_client(hospital, patient)
    first = change(client, old="000000")
    assert first.json()["message"] == "Wrong payment password; 2 tries left."
    change(client, old="000000")
    third = change(client, old="000000")

    locked = change(client, old="123456")
    wallet = client.get(WALLET.format(code="hospa")).json()

    stored = BalanceAccount.objects.get()
    assert third.status_code == 400 and third.json()["code"] == "wrong_password"
    assert locked.status_code == 409 and locked.json()["code"] == "card_locked"
    assert wallet["locked"] is True and wallet["remaining_tries"] == 0
    assert wallet["locked_until"] is not None and stored.locked_until is not None
    assert check_password("123456", stored.password)


def test_password_changes_are_throttled_per_wechat_account(hospital, patient, account, settings):
    settings.HCM_RATES = {**settings.HCM_RATES, "payment_password": {"account": "2/hour"}}
    client = patient_client(hospital, patient)
    other = patient_client(hospital, patient, openid="openid-other")

    codes = [change(client, new="65432").status_code for _ in range(3)]

    assert codes == [400, 400, 429]
    assert change(other, new="65432").status_code == 400  # another WeChat account has its own count


def test_the_wallet_answers_404_where_the_balance_card_is_off(db):
    hospital = make_hospital("xmchild", features="[site, appointments]")
    patient = make_patient(hospital, card="K1")
    client = patient_client(hospital, patient)

    for url in (WALLET, ENTRIES):
        response = client.get(url.format(code="xmchild"))
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert change(client, code="xmchild").status_code == 404


def test_a_patient_of_another_hospital_is_refused(hospital, other_hospital, patient, account):
    stranger = patient_client(other_hospital, make_patient(other_hospital, card="B1"), openid="openid-b")

    assert stranger.get(WALLET.format(code="hospa")).status_code == 403


def test_the_my_page_shows_the_same_balance(hospital, patient, account):
    services.account_credit(account=account, amount=Decimal("8.00"), kind=LedgerEntry.Kind.REFUND, reference="x")
    client = patient_client(hospital, patient)

    body = client.get("/api/v1/hospa/patient/me/").json()

    assert body["balance"] == client.get(WALLET.format(code="hospa")).json()
    assert body["balance"]["balance"] == "8.00"

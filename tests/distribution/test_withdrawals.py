"""Withdrawals under the hospital's rules: an amount or all, at least the minimum, at most the
daily maximum, the fee deducted; held at request; reviewed or approved at once; paid by an
operator's record or a WeChat transfer (stubbed); a rejection returns the held amount."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from hcm.distribution import services, transfers
from hcm.distribution.models import CommissionAccount, CommissionEntry, Withdrawal
from hcm.distribution.tasks import retry_transfers
from hcm.lowcode.errors import DomainError
from hcm.lowcode.models import TransitionLog
from hcm.notifications.models import Notification
from hcm.patients.models import PatientToken
from tests.conftest import staff_client
from tests.distribution.conftest import API, STAFF, client_for
from tests.openapi import conforming_answer

pytestmark = pytest.mark.django_db(transaction=True)


def credit(distributor, amount: str) -> CommissionAccount:
    account = CommissionAccount.objects.get(distributor=distributor)
    services.book(
        account=account, signed=Decimal(amount), kind=CommissionEntry.Kind.COMMISSION, reference=f"test:{amount}"
    )
    return account


def withdraw(distributor, body: dict):
    return client_for(distributor.account).post(API + "withdrawals/", body, format="json")


def balance(distributor) -> Decimal:
    return CommissionAccount.objects.get(distributor=distributor).balance


def test_a_withdrawal_holds_the_amount_and_deducts_the_fee(seller):
    credit(seller, "300.00")

    answer = withdraw(seller, {"amount": "100.00"})

    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert (body["amount"], body["fee"], body["net_amount"], body["state"]) == (
        "100.00",
        "0.60",  # 100.00 x 0.006
        "99.40",
        "pending_review",
    )
    assert balance(seller) == Decimal("200.00")
    hold = CommissionEntry.objects.get(kind="withdrawal")
    assert (hold.amount, hold.balance_after, hold.reference) == (
        Decimal("-100.00"),
        Decimal("200.00"),
        f"withdrawal:{body['id']}",
    )
    assert (
        TransitionLog.objects.get(transition="submit", content_type__model="withdrawal").target_state
        == "pending_review"
    )


def test_below_the_minimum_is_refused_and_nothing_is_held(seller):
    credit(seller, "300.00")
    answer = withdraw(seller, {"amount": "9.99"})
    assert answer.status_code == 400 and answer.json()["code"] == "below_minimum"
    assert "amount" in answer.json()["fields"]
    assert balance(seller) == Decimal("300.00") and not Withdrawal.objects.exists()


def test_more_than_the_balance_is_refused(seller):
    credit(seller, "50.00")
    answer = withdraw(seller, {"amount": "50.01"})
    assert answer.status_code == 409 and answer.json()["code"] == "insufficient_balance"
    assert balance(seller) == Decimal("50.00") and not Withdrawal.objects.exists()


def test_the_daily_maximum_counts_todays_requests_but_not_rejected_ones(seller, finance):
    credit(seller, "1000.00")
    assert withdraw(seller, {"amount": "300.00"}).status_code == 201
    over = withdraw(seller, {"amount": "200.01"})
    assert over.status_code == 409 and over.json()["code"] == "daily_limit_reached"

    first = Withdrawal.objects.get()
    staff_client(finance).post(f"{STAFF}withdrawals/{first.pk}/reject/", {"reason": "信息有误"}, format="json")
    assert withdraw(seller, {"amount": "500.00"}).status_code == 201  # the rejected one no longer counts

    Withdrawal.objects.update(created_at=timezone.now() - timedelta(days=1))  # yesterday's
    assert withdraw(seller, {"amount": "100.00"}).status_code == 201


def test_withdraw_all_takes_what_the_balance_and_todays_limit_allow(seller):
    credit(seller, "123.45")
    everything = withdraw(seller, {"all": True})
    assert everything.status_code == 201 and everything.json()["amount"] == "123.45"
    assert balance(seller) == Decimal("0.00")

    nothing = withdraw(seller, {"all": True})
    assert nothing.status_code == 409 and nothing.json()["code"] == "insufficient_balance"

    credit(seller, "900.00")
    capped = withdraw(seller, {"all": True})
    assert capped.json()["amount"] == "376.55"  # 500.00 a day, 123.45 taken already


def test_a_request_needs_an_amount_or_all(seller):
    credit(seller, "100.00")
    for body in ({}, {"amount": "abc"}, {"amount": "-5"}, {"amount": "10.001"}):
        answer = withdraw(seller, body)
        assert answer.status_code == 400, body
    assert not Withdrawal.objects.exists()


def test_review_on_approved_then_paid_by_an_operator_recording_the_transfer(seller, finance):
    credit(seller, "300.00")
    withdrawal = Withdrawal.objects.get(pk=withdraw(seller, {"amount": "100.00"}).json()["id"])
    staff = staff_client(finance)

    approved = staff.post(f"{STAFF}withdrawals/{withdrawal.pk}/approve/", {}, format="json")
    missing = staff.post(f"{STAFF}withdrawals/{withdrawal.pk}/record_payment/", {}, format="json")
    paid = staff.post(f"{STAFF}withdrawals/{withdrawal.pk}/record_payment/", {"reference": "BANK-778"}, format="json")

    assert approved.json()["state"] == "approved"
    assert missing.status_code == 400 and "reference" in missing.json()["fields"]
    assert paid.status_code == 200, paid.json()
    withdrawal.refresh_from_db()
    assert (withdrawal.state, withdrawal.transfer_method, withdrawal.transfer_reference, withdrawal.paid_by) == (
        "paid",
        "manual",
        "BANK-778",
        finance,
    )
    assert balance(seller) == Decimal("200.00")  # the hold became the payment
    assert [n.data["result"] for n in Notification.objects.filter(event="withdrawal").order_by("pk")] == [
        "已通过，待打款",
        "已打款",
    ]
    record = client_for(seller.account).get(API + f"withdrawals/{withdrawal.pk}/").json()
    assert (record["state"], record["transfer_reference"]) == ("paid", "BANK-778")


@pytest.mark.parametrize("rules", [{"review_withdrawals": "false"}])
def test_review_off_approves_at_once(seller):
    credit(seller, "300.00")
    answer = withdraw(seller, {"amount": "100.00"})
    assert answer.json()["state"] == "approved"
    assert TransitionLog.objects.get(transition="submit", content_type__model="withdrawal").target_state == "approved"


def test_a_rejection_returns_the_held_amount(seller, finance):
    credit(seller, "300.00")
    withdrawal_id = withdraw(seller, {"amount": "120.00"}).json()["id"]
    assert balance(seller) == Decimal("180.00")

    rejected = staff_client(finance).post(
        f"{STAFF}withdrawals/{withdrawal_id}/reject/", {"reason": "账户信息有误"}, format="json"
    )

    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    assert balance(seller) == Decimal("300.00")
    returned = CommissionEntry.objects.get(kind="withdrawal_returned")
    assert (returned.amount, returned.balance_after, returned.operator) == (
        Decimal("120.00"),
        Decimal("300.00"),
        finance,
    )
    again = staff_client(finance).post(f"{STAFF}withdrawals/{withdrawal_id}/reject/", {"reason": "x"}, format="json")
    assert again.status_code == 409
    assert balance(seller) == Decimal("300.00")


class FakeTransfers:
    def __init__(self, outcome: str = "paid"):
        self.outcome = outcome
        self.calls: list[dict] = []

    def transfer(self, **kwargs):
        self.calls.append(kwargs)
        if self.outcome == "refused":
            raise transfers.TransferRefused("余额不足")
        if self.outcome == "unanswered":
            raise transfers.TransferUnanswered("timeout")
        return transfers.TransferResult(reference="WXPAY-0001")


@pytest.fixture
def wechat_transfers(monkeypatch):
    fake = FakeTransfers()
    monkeypatch.setattr(transfers, "client_for", lambda hospital: fake)
    return fake


@pytest.mark.parametrize("rules", [{"review_withdrawals": "false"}])
def test_a_wechat_transfer_pays_the_net_amount_after_commit(seller, finance, wechat_transfers):
    credit(seller, "300.00")
    withdrawal_id = withdraw(seller, {"amount": "100.00"}).json()["id"]

    answer = staff_client(finance).post(f"{STAFF}withdrawals/{withdrawal_id}/transfer/", {}, format="json")

    assert answer.status_code == 200
    withdrawal = Withdrawal.objects.get(pk=withdrawal_id)
    assert (withdrawal.state, withdrawal.transfer_method, withdrawal.transfer_reference) == (
        "paid",
        "wechat",
        "WXPAY-0001",
    )
    (call,) = wechat_transfers.calls
    assert (call["number"], call["openid"], call["amount"]) == (withdrawal.number, "oSeller", Decimal("99.40"))


@pytest.mark.parametrize("rules", [{"review_withdrawals": "false"}])
def test_a_refused_wechat_transfer_goes_back_to_approved_with_the_error(seller, finance, wechat_transfers):
    wechat_transfers.outcome = "refused"
    credit(seller, "300.00")
    withdrawal_id = withdraw(seller, {"amount": "100.00"}).json()["id"]

    staff_client(finance).post(f"{STAFF}withdrawals/{withdrawal_id}/transfer/", {}, format="json")

    withdrawal = Withdrawal.objects.get(pk=withdrawal_id)
    assert (withdrawal.state, withdrawal.transfer_error) == ("approved", "余额不足")
    assert balance(seller) == Decimal("200.00")  # still held: an operator pays or rejects it


@pytest.mark.parametrize("rules", [{"review_withdrawals": "false"}])
def test_an_unanswered_wechat_transfer_is_retried_with_the_same_number(seller, finance, wechat_transfers):
    wechat_transfers.outcome = "unanswered"
    credit(seller, "300.00")
    withdrawal_id = withdraw(seller, {"amount": "100.00"}).json()["id"]
    staff_client(finance).post(f"{STAFF}withdrawals/{withdrawal_id}/transfer/", {}, format="json")
    assert Withdrawal.objects.get(pk=withdrawal_id).state == "transferring"

    wechat_transfers.outcome = "paid"
    assert retry_transfers() == {}  # too early
    Withdrawal.objects.filter(pk=withdrawal_id).update(updated_at=timezone.now() - timedelta(minutes=6))
    assert retry_transfers() == {"paid": 1}

    assert Withdrawal.objects.get(pk=withdrawal_id).state == "paid"
    assert len({call["number"] for call in wechat_transfers.calls}) == 1


def test_a_wechat_transfer_needs_the_merchant_configured(hospital, seller, finance):
    from hcm.hospitals.config import parse_config
    from hcm.hospitals.services import hospital_config_update
    from tests.conftest import ALL_FEATURES
    from tests.distribution.conftest import hospital_yaml

    text = f"code: dist\nname: 分销医院\nfeatures: {ALL_FEATURES}\n" + hospital_yaml().split("\nintegrations:")[0]
    hospital_config_update(hospital=hospital, config=parse_config(text, filename="dist.yaml"), author=None)
    credit(seller, "300.00")
    withdrawal_id = withdraw(seller, {"amount": "100.00"}).json()["id"]
    staff = staff_client(finance)
    staff.post(f"{STAFF}withdrawals/{withdrawal_id}/approve/", {}, format="json")

    refused = staff.post(f"{STAFF}withdrawals/{withdrawal_id}/transfer/", {}, format="json")

    assert refused.status_code == 409 and refused.json()["code"] == "transition_not_allowed"
    assert Withdrawal.objects.get(pk=withdrawal_id).state == "approved"


def test_a_debt_from_a_clawback_blocks_withdrawals(seller):
    account = credit(seller, "10.00")
    services.book(account=account, signed=Decimal("-30.00"), kind=CommissionEntry.Kind.CLAWBACK, reference="c:1")
    answer = withdraw(seller, {"all": True})
    assert answer.status_code == 409 and answer.json()["code"] == "insufficient_balance"
    with pytest.raises(DomainError):
        services.book(account=account, signed=Decimal("-1.00"), kind=CommissionEntry.Kind.WITHDRAWAL, reference="w:x")
    assert balance(seller) == Decimal("-20.00")


def test_a_withdrawal_not_yet_paid_matches_the_schema(seller):
    """No transfer method yet: "" is documented, not only manual and wechat."""
    credit(seller, "300.00")
    withdrawal = withdraw(seller, {"amount": "100.00"}).json()
    _token, key = PatientToken.issue(seller.account)

    answer = conforming_answer(
        "/api/v1/{hospital}/patient/distribution/withdrawals/{id}/",
        hospital=seller.hospital.code,
        authorization=f"Bearer {key}",
        path_parameters={"id": withdrawal["id"]},
    )

    assert (answer.json()["state"], answer.json()["transfer_method"]) == ("pending_review", "")

"""Commissions from the mall's order events: direct and team at the config's rates (cents, half up),
invitation rewards on approval or first sale, settlement after the days pass, cancellation by a
refund before settling and clawback after; only commission-eligible checkup products earn."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import F, Sum
from django.utils import timezone

from hcm.distribution import services
from hcm.distribution.models import Commission, CommissionAccount, CommissionEntry
from hcm.distribution.tasks import settle_commissions
from hcm.lowcode.append_only import RowImmutable
from hcm.mall.models import Order
from hcm.wallet import recharge as wallet_recharge
from tests.distribution.conftest import (
    buy,
    complete,
    make_account,
    make_distributor,
    refund_after_completion,
    refund_before_completion,
)
from tests.mall.conftest import make_product

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def team(hospital, leader):
    """A seller invited by the leader (no reward yet: the reward is set to 0 in these tests)."""
    return make_distributor(make_account(hospital, "oTeamSeller"), inviter=leader)


def commissions() -> list[tuple]:
    return list(
        Commission.objects.order_by("pk").values_list("distributor__account__openid", "kind", "amount", "state")
    )


def ledger_balances_add_up() -> bool:
    for account in CommissionAccount.objects.all():
        total = CommissionEntry.objects.filter(account=account).aggregate(total=Sum("amount"))["total"] or 0
        latest = account.entries.order_by("-pk").first()
        if account.balance != Decimal(str(total)).quantize(Decimal("0.01")):
            return False
        if latest is not None and latest.balance_after != account.balance:
            return False
    return True


@pytest.mark.parametrize("rules", [{"invite_reward": "0"}])
def test_a_paid_order_earns_direct_and_team_commission_at_the_configured_rates(team, leader, buyer, package):
    order = buy(buyer, package, share_code=team.invite_code)

    assert order.state == "paid"
    assert commissions() == [
        ("oTeamSeller", "direct", Decimal("29.90"), "pending"),  # 299.00 x 0.10
        ("oLeader", "team", Decimal("8.97"), "pending"),  # 299.00 x 0.03
    ]
    direct = Commission.objects.get(kind="direct")
    assert (direct.order, direct.base_amount, direct.rate, direct.settle_due_at) == (
        order,
        Decimal("299.00"),
        Decimal("0.1000"),
        None,
    )
    assert Commission.objects.get(kind="team").source == team


@pytest.mark.parametrize("rules", [{"invite_reward": "0"}])
def test_an_unpaid_order_earns_nothing_yet(seller, buyer, package):
    buy(buyer, package, share_code=seller.invite_code, pay=False)
    assert commissions() == []


@pytest.mark.parametrize("rules", [{"direct_rate": "0.05", "team_rate": "0"}])
def test_commissions_are_rounded_to_cents_half_up(hospital, seller, buyer):
    odd = make_product(hospital, code="ODD-1", price="33.70", name="血常规")  # 33.70 x 0.05 = 1.685
    buy(buyer, odd, share_code=seller.invite_code)
    assert Commission.objects.get().amount == Decimal("1.69")  # half-even would give 1.68
    assert services.quantize(Decimal("1.685")) == Decimal("1.69")


@pytest.mark.parametrize("rules", [{"invite_reward": "0"}])
def test_ineligible_items_earn_nothing(team, buyer, package, eye_test):
    only_ineligible = buy(buyer, eye_test, share_code=team.invite_code)
    assert not Commission.objects.filter(order=only_ineligible).exists()

    mixed = buy(buyer, package, eye_test, share_code=team.invite_code)

    assert mixed.total == Decimal("344.50")
    assert sorted(Commission.objects.filter(order=mixed).values_list("kind", "base_amount", "amount")) == [
        ("direct", Decimal("299.00"), Decimal("29.90")),
        ("team", Decimal("299.00"), Decimal("8.97")),
    ]


@pytest.mark.parametrize("rules", [{"invite_reward": "0"}])
def test_recharges_and_unattributed_orders_never_earn(hospital, seller, buyer, package):
    from hcm.distribution.services import referral_record
    from hcm.wallet.models import Recharge

    buy(buyer, package)  # nobody's yet
    referral_record(account=buyer, invite_code=seller.invite_code)
    card = buyer.current_patient.balance_account
    recharge = Recharge.objects.create(hospital=hospital, number="C1", account=buyer, card=card, amount=Decimal("500"))
    wallet_recharge.recharge_paid(payable=recharge, payment=None)  # an invited member's recharge

    assert commissions() == []
    buy(buyer, package)  # the same member's checkup order does earn
    assert commissions() == [("oSeller", "direct", Decimal("29.90"), "pending")]


@pytest.mark.parametrize("rules", [{"invite_reward_on": "approved"}])
def test_the_invite_reward_is_earned_when_the_invited_distributor_is_approved(hospital, leader, buyer, package):
    invited = make_distributor(make_account(hospital, "oInvited"), inviter=leader)

    reward = Commission.objects.get(kind="invite")
    assert (reward.distributor, reward.source, reward.amount, reward.order) == (leader, invited, Decimal("5.00"), None)
    assert reward.settle_due_at == pytest.approx(timezone.now() + timedelta(days=7), abs=timedelta(seconds=30))
    buy(buyer, package, share_code=invited.invite_code)
    assert Commission.objects.filter(kind="invite").count() == 1  # once per invited distributor


@pytest.mark.parametrize("rules", [{"invite_reward_on": "first_sale", "invite_reward": "8.00"}])
def test_the_invite_reward_is_earned_on_the_invited_distributors_first_sale(hospital, leader, buyer, package):
    invited = make_distributor(make_account(hospital, "oInvited"), inviter=leader)
    assert not Commission.objects.filter(kind="invite").exists()

    first = buy(buyer, package, share_code=invited.invite_code)
    buy(buyer, package, share_code=invited.invite_code)

    reward = Commission.objects.get(kind="invite")
    assert (reward.distributor, reward.source, reward.amount, reward.order) == (leader, invited, Decimal("8.00"), first)


@pytest.mark.parametrize("rules", [{"invite_reward_on": "first_sale", "invite_reward": "8.00"}])
def test_a_first_sale_refunded_before_settling_lets_the_next_sale_earn_the_reward(hospital, leader, buyer, package):
    invited = make_distributor(make_account(hospital, "oInvited"), inviter=leader)
    first = buy(buyer, package, share_code=invited.invite_code)
    refund_before_completion(first)
    second = buy(buyer, package, share_code=invited.invite_code)

    assert list(Commission.objects.filter(kind="invite").order_by("pk").values_list("order", "state")) == [
        (first.pk, "cancelled"),
        (second.pk, "pending"),
    ]


@pytest.mark.parametrize("rules", [{"invite_reward": "0"}])
def test_commissions_settle_when_the_configured_days_have_passed_since_completion(team, leader, buyer, package):
    order = complete(buy(buyer, package, share_code=team.invite_code))

    due = order.completed_at + timedelta(days=7)
    assert set(Commission.objects.values_list("settle_due_at", flat=True)) == {due}
    assert settle_commissions() == 0  # not yet

    Commission.objects.update(settle_due_at=F("settle_due_at") - timedelta(days=6))  # six days later
    assert settle_commissions() == 0
    Commission.objects.update(settle_due_at=F("settle_due_at") - timedelta(days=1))  # the seventh day

    assert settle_commissions() == 2
    assert [state for *_rest, state in commissions()] == ["settled", "settled"]
    assert CommissionAccount.objects.get(distributor=team).balance == Decimal("29.90")
    assert CommissionAccount.objects.get(distributor=leader).balance == Decimal("8.97")
    entry = CommissionEntry.objects.get(account__distributor=team)
    assert (entry.kind, entry.amount, entry.balance_after) == ("commission", Decimal("29.90"), Decimal("29.90"))
    assert settle_commissions() == 0  # settled once
    assert ledger_balances_add_up()
    with pytest.raises(RowImmutable):
        entry.save()
    with pytest.raises(RowImmutable):
        CommissionEntry.objects.filter(pk=entry.pk).update(amount=Decimal("99.00"))
    with pytest.raises(RowImmutable):
        entry.delete()


@pytest.mark.parametrize("rules", [{"invite_reward": "0"}])
def test_a_paid_but_never_completed_order_does_not_settle(seller, buyer, package):
    buy(buyer, package, share_code=seller.invite_code)
    Commission.objects.update(created_at=timezone.now() - timedelta(days=400))
    assert settle_commissions() == 0


@pytest.mark.parametrize("rules", [{"invite_reward": "0"}])
def test_a_refund_before_settling_cancels_the_commissions(team, buyer, package):
    order = buy(buyer, package, share_code=team.invite_code)

    refunded = refund_before_completion(order)

    assert refunded.state == "refunded"
    assert [state for *_rest, state in commissions()] == ["cancelled", "cancelled"]
    assert not CommissionEntry.objects.exists()
    assert settle_commissions() == 0


@pytest.mark.parametrize("rules", [{"invite_reward": "0"}])
def test_a_refund_of_a_completed_order_before_settling_cancels_too(team, buyer, package):
    order = complete(buy(buyer, package, share_code=team.invite_code))
    refund_after_completion(order)
    Commission.objects.update(settle_due_at=timezone.now() - timedelta(seconds=1))
    assert settle_commissions() == 0
    assert [state for *_rest, state in commissions()] == ["cancelled", "cancelled"]


@pytest.mark.parametrize("rules", [{"invite_reward": "0", "settle_after_days": "0", "review_withdrawals": "false"}])
def test_a_refund_after_settling_claws_back_even_below_zero(team, leader, buyer, package):
    from hcm.distribution.withdrawals import withdrawal_request

    order = complete(buy(buyer, package, share_code=team.invite_code))
    settle_commissions()
    withdrawal_request(distributor=team, amount=Decimal("20.00"))  # 9.90 left

    refund_after_completion(order)

    assert Order.objects.get(pk=order.pk).state == "completed"  # the mall's order stays done
    assert [state for *_rest, state in commissions()] == ["clawed_back", "clawed_back"]
    account = CommissionAccount.objects.get(distributor=team)
    assert account.balance == Decimal("-20.00")  # 29.90 - 20.00 - 29.90: owed, paid by later settlements
    clawback = CommissionEntry.objects.get(account=account, kind="clawback")
    assert (clawback.amount, clawback.balance_after) == (Decimal("-29.90"), Decimal("-20.00"))
    assert CommissionAccount.objects.get(distributor=leader).balance == Decimal("0.00")
    assert ledger_balances_add_up()

    # The debt blocks withdrawals and is repaid by the next settlement.
    second = complete(buy(buyer, package, share_code=team.invite_code))
    settle_commissions()
    account.refresh_from_db()
    assert account.balance == Decimal("9.90") and second.state == "completed"
    assert ledger_balances_add_up()


@pytest.mark.parametrize("rules", [{"invite_reward": "0"}])
def test_a_repeated_order_event_books_nothing_twice(seller, buyer, package):
    order = buy(buyer, package, share_code=seller.invite_code)
    services.order_event(event="paid", order=order)
    services.order_event(event="refunded", order=order)
    services.order_event(event="refunded", order=order)
    assert commissions() == [("oSeller", "direct", Decimal("29.90"), "cancelled")]


def test_with_the_feature_off_orders_are_not_attributed(hospital, seller, buyer, package):
    from hcm.hospitals.config import parse_config
    from hcm.hospitals.services import hospital_config_update
    from tests.distribution.conftest import hospital_yaml

    text = "code: dist\nname: 分销医院\nfeatures: [mall]\n" + hospital_yaml()
    hospital_config_update(hospital=hospital, config=parse_config(text, filename="dist.yaml"), author=None)

    buy(buyer, package, share_code=seller.invite_code)

    assert not Commission.objects.filter(kind="direct").exists()

"""The patient's distribution views: the centre summary, my invitations, my customers, distribution
orders and the income detail (distribution, team and other income, each with order number, time
and amount); lists in a constant number of queries; another distributor's rows never visible."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hcm.distribution.models import Commission, Withdrawal
from hcm.distribution.services import referral_record
from hcm.distribution.tasks import settle_commissions
from hcm.distribution.withdrawals import withdrawal_request
from tests.distribution.conftest import API, buy, client_for, complete, make_account, make_distributor

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(hospital, leader, package, eye_test):
    """The leader invited the seller (reward 5.00 on approval) and a member; the seller sold through a
    share and to an invited member; one order completed and settled."""
    seller = make_distributor(make_account(hospital, "oSeller2", name="王分销", nickname="小王"), inviter=leader)
    member = make_account(hospital, "oMember", nickname="会员甲")
    sharer_customer = make_account(hospital, "oCustomer", nickname="顾客乙", name="钱顾客")
    referral_record(account=member, invite_code=seller.invite_code)
    referral_record(account=make_account(hospital, "oLeaderMember", nickname="会员丙"), invite_code=leader.invite_code)
    by_invite = buy(member, package)  # credited to the seller (invited member)
    by_share = complete(buy(sharer_customer, package, share_code=seller.invite_code))
    buy(sharer_customer, eye_test, share_code=seller.invite_code)  # no commission, still the seller's order
    Commission.objects.filter(order=by_share).update(settle_due_at=timezone.now() - timedelta(seconds=1))
    settle_commissions()
    return {
        "seller": seller,
        "member": member,
        "customer": sharer_customer,
        "by_invite": by_invite,
        "by_share": by_share,
    }


def test_the_centre_summary(world, leader):
    seller = world["seller"]
    withdrawal_request(distributor=seller, amount=Decimal("10.00"))

    centre = client_for(seller.account).get(API).json()

    assert centre["summary"] == {
        "withdrawable": "19.90",  # 29.90 settled - 10.00 held
        "balance": "19.90",
        "pending": "29.90",  # the invited member's order
        "total_earned": "59.80",
        "today": "59.80",
        "held": "10.00",
        "withdrawn": "0.00",
    }
    assert centre["income"] == {"distribution": "59.80", "team": "0.00", "other": "0.00"}
    assert centre["distributor"]["name"] == "王**" and centre["distributor"]["inviter"] == "李**"
    assert centre["withdrawal_rules"] == {
        "review": True,
        "min": "10.00",
        "max_per_day": "500.00",
        "fee_rate": "0.0060",
        "left_today": "490.00",
    }
    leaders = client_for(leader.account).get(API).json()
    assert leaders["income"] == {"distribution": "0.00", "team": "17.94", "other": "5.00"}


def test_the_income_detail_is_split_by_type_with_order_number_time_and_amount(world, leader):
    me = client_for(leader.account)

    everything = me.get(API + "income/").json()
    team = me.get(API + "income/?type=team").json()
    other = me.get(API + "income/?type=other").json()

    assert everything["count"] == 3
    assert [(line["type"], line["order_number"], line["amount"]) for line in team["results"]] == [
        ("team", world["by_share"].number, "8.97"),
        ("team", world["by_invite"].number, "8.97"),
    ]
    assert [line["source_name"] for line in team["results"]] == ["王**", "王**"]
    assert {line["state"] for line in team["results"]} == {"settled", "pending"}
    assert all(line["created_at"] for line in team["results"])
    assert [(line["type"], line["order_number"], line["amount"]) for line in other["results"]] == [
        ("other", "", "5.00")
    ]


def test_distribution_orders_show_my_commission_on_each(world):
    rows = client_for(world["seller"].account).get(API + "orders/").json()["results"]
    assert [(row["order_number"], row["source"], row["commission"], row["person"]) for row in rows] == [
        (rows[0]["order_number"], "share", None, "钱**"),  # the eye test earns nothing
        (world["by_share"].number, "share", "29.90", "钱**"),
        (world["by_invite"].number, "invite", "29.90", "尤**"),
    ]


def test_my_invitations_and_my_customers(world, leader):
    seller = client_for(world["seller"].account)

    invitations = client_for(leader.account).get(API + "invitations/").json()
    customers = seller.get(API + "customers/").json()
    members = seller.get(API + "invitations/?kind=member&ordered=true").json()

    assert [(row["kind"], row["nickname"], row["name"], row["orders"]) for row in invitations["results"]] == [
        ("member", "会员丙", "", 0),
        ("distributor", "小王", "王**", 0),
    ]
    assert [(row["nickname"], row["orders"], row["amount"]) for row in customers["results"]] == [
        ("顾客乙", 2, "344.50")
    ]
    assert [(row["nickname"], row["orders"]) for row in members["results"]] == [("会员甲", 1)]


def test_lists_take_the_same_number_of_queries_for_one_row_and_many(hospital, seller, package):
    me = client_for(seller.account)
    urls = ["income/", "orders/", "invitations/", "customers/", "withdrawals/", "entries/"]

    def add_rows(count: int, offset: int) -> None:
        for n in range(count):
            customer = make_account(hospital, f"oC{offset + n}")
            referral_record(account=customer, invite_code=seller.invite_code)
            buy(customer, package, share_code=seller.invite_code)
            make_distributor(make_account(hospital, f"oD{offset + n}"), inviter=seller)

    add_rows(1, 0)
    me.get(API)  # warm up
    before = {}
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            assert me.get(API + url).status_code == 200
        before[url] = len(queries)
    add_rows(5, 100)
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            me.get(API + url)
        assert len(queries) == before[url], url


def test_another_distributors_data_is_never_visible(world, hospital, leader):
    seller = world["seller"]
    stranger = make_distributor(make_account(hospital, "oStranger"))
    withdrawal = withdrawal_request(distributor=seller, amount=Decimal("10.00"))
    them = client_for(stranger.account)

    for url in ["income/", "orders/", "invitations/", "customers/", "withdrawals/", "entries/"]:
        assert them.get(API + url).json()["count"] == 0, url
    assert them.get(API + f"withdrawals/{withdrawal.pk}/").status_code == 404
    assert them.get(API).json()["summary"]["total_earned"] == "0.00"
    assert Withdrawal.objects.filter(distributor=stranger).count() == 0


def test_someone_who_is_not_a_distributor_is_told_to_apply(buyer):
    me = client_for(buyer)
    for url in ["", "income/", "orders/", "invitations/", "customers/", "withdrawals/", "entries/"]:
        response = me.get(API + url)
        assert response.status_code == 409 and response.json()["code"] == "not_distributor", url
    assert me.post(API + "withdrawals/", {"all": True}, format="json").json()["code"] == "not_distributor"


def test_a_patient_of_another_hospital_is_nobody_here(seller, hospital_b):
    stranger = make_account(hospital_b, "oElsewhere")
    assert client_for(stranger).get(API).status_code in (401, 403)


def test_with_the_feature_off_the_api_is_404(hospital, seller):
    from hcm.hospitals.config import parse_config
    from hcm.hospitals.services import hospital_config_update
    from tests.distribution.conftest import hospital_yaml

    text = "code: dist\nname: 分销医院\nfeatures: [mall]\n" + hospital_yaml()
    hospital_config_update(hospital=hospital, config=parse_config(text, filename="dist.yaml"), author=None)
    assert client_for(seller.account).get(API).status_code == 404


def test_the_my_page_offers_becoming_a_distributor_then_the_centre(hospital, seller_account):
    stranger = make_account(hospital, "oMyPage0001")
    me = f"/api/v1/{hospital.code}/patient/me/"

    assert client_for(stranger).get(me).json()["distribution"] == {"status": "none", "withdrawable": None}
    make_distributor(seller_account)
    assert client_for(seller_account).get(me).json()["distribution"] == {"status": "approved", "withdrawable": "0.00"}

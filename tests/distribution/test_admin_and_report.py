"""Operators: applications and withdrawals reviewed with the change page's buttons, exports for
finance that never import, and the per-hospital distribution report (admin page and staff API)."""

import io
import re
from datetime import timedelta
from decimal import Decimal

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from hcm.distribution.models import Application, Commission, CommissionAccount, Distributor, Withdrawal
from hcm.distribution.tasks import settle_commissions
from hcm.distribution.withdrawals import withdrawal_request
from hcm.lowcode.transitions import transition_apply
from tests.conftest import make_hospital, make_operator, staff_client
from tests.distribution.conftest import STAFF, buy, complete, make_account, make_distributor, refund_after_completion

pytestmark = pytest.mark.django_db(transaction=True)


def logged_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def url(name: str, *args) -> str:
    return reverse(f"admin:{name}", args=args)


def buttons(response) -> list[str]:
    return re.findall(r'name="_fsm_transition_to" value="(\w+)"', response.content.decode())


def press(client: Client, change_url: str, transition: str):
    page = client.get(change_url)
    data = {b.html_name: b.value() for b in page.context["adminform"].form if b.value() is not None}
    return client.post(change_url, {**data, "_fsm_transition_to": transition})


def pending_application(hospital) -> Application:
    account = make_account(hospital, "oApplicant", name="周申请")
    application = Application.objects.create(
        hospital=hospital, account=account, name="周申请", phone="13911112222", agreement_accepted_at=timezone.now()
    )
    return transition_apply(obj=application, name="submit", actor=account)


def test_finance_approves_an_application_with_the_button(hospital, finance):
    application = pending_application(hospital)
    client = logged_in(finance)
    change = url("distribution_application_change", application.pk)

    assert buttons(client.get(change)) == ["approve", "reject"]
    pressed = press(client, change, "approve")

    assert pressed.status_code == 302
    application.refresh_from_db()
    assert application.state == "approved" and application.reviewed_by == finance
    assert Distributor.objects.get().account == application.account
    assert buttons(client.get(change)) == []


def test_a_withdrawal_is_rejected_with_a_reason_through_the_admin_form(hospital, seller, finance):
    from tests.distribution.test_withdrawals import credit

    credit(seller, "100.00")
    withdrawal = withdrawal_request(distributor=seller, amount=Decimal("50.00"))
    client = logged_in(finance)
    change = url("distribution_withdrawal_change", withdrawal.pk)
    assert buttons(client.get(change)) == ["approve", "reject"]

    pressed = press(client, change, "reject")
    done = client.post(pressed["Location"], {"reason": "账户有误"}, follow=True)

    assert done.status_code == 200
    withdrawal.refresh_from_db()
    assert (withdrawal.state, withdrawal.reject_reason) == ("rejected", "账户有误")
    assert CommissionAccount.objects.get(distributor=seller).balance == Decimal("100.00")


def test_nothing_is_added_deleted_or_imported_in_the_admin(hospital, seller, finance):
    client = logged_in(finance)
    for model in ["application", "distributor", "commission", "commissionentry", "withdrawal", "commissionaccount"]:
        assert client.get(url(f"distribution_{model}_add")).status_code == 403, model
        assert client.get(url(f"distribution_{model}_import")).status_code == 403, model


def test_finance_exports_commissions(hospital, seller, buyer, package, finance):
    buy(buyer, package, share_code=seller.invite_code)
    client = logged_in(finance)
    form = client.get(url("distribution_commission_export")).context["form"]
    xlsx = next(value for value, label in form.fields["format"].choices if label == "xlsx")

    response = client.post(url("distribution_commission_export"), {"format": xlsx, "resource": "0"})

    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][:8] == ("hospital", "id", "distributor", "kind", "order", "base_amount", "rate", "amount")
    order_number = Commission.objects.get(kind="direct").order.number
    direct = next(row for row in rows[1:] if row[3] == "Distribution income")
    assert direct[:8] == (
        "dist",
        direct[1],
        seller.invite_code,
        "Distribution income",
        order_number,
        "299.00",
        "0.1000",
        "29.90",
    )


@pytest.fixture
def activity(hospital, leader, buyer, package):
    """Two orders through an invited seller: one settled then refunded (clawback), one settled
    and withdrawn from, one paid and pending."""
    seller = make_distributor(make_account(hospital, "oSeller2"), inviter=leader)  # reward 5.00 to the leader
    first = complete(buy(buyer, package, share_code=seller.invite_code))
    second = complete(buy(buyer, package, share_code=seller.invite_code))
    buy(buyer, package, share_code=seller.invite_code)
    Commission.objects.filter(order__in=[first, second]).update(settle_due_at=timezone.now())
    settle_commissions()
    withdrawal = withdrawal_request(distributor=seller, amount=Decimal("50.00"))
    transition_apply(obj=withdrawal, name="approve", actor=None)
    transition_apply(obj=withdrawal, name="record_payment", actor=None, data={"reference": "BANK-1"})
    refund_after_completion(first)
    return seller


def test_the_staff_report_adds_up_earned_settled_and_withdrawn(activity, finance, hospital_b):
    report = staff_client(finance).get(STAFF + "distribution/report/").json()

    assert report == {
        "date_from": None,
        "date_to": None,
        "distributors": 2,
        "earned": "121.61",  # 3 x (29.90 + 8.97) + 5.00
        "earned_by_type": {"distribution": "89.70", "team": "26.91", "other": "5.00"},
        "cancelled": "0.00",
        "settled": "77.74",  # two orders' direct and team
        "clawed_back": "38.87",  # the first order's, refunded after settling
        "withdrawn": "50.00",
        "withdrawal_fees": "0.30",
        "paid_out": "49.70",
        "withdrawals_paid": 1,
        "pending_now": "43.87",  # the third order and the invite reward
        "held_now": "0.00",
        "balances_now": "-11.13",  # 77.74 - 38.87 - 50.00
    }
    today = timezone.localdate().isoformat()
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert staff_client(finance).get(STAFF + f"distribution/report/?date_from={today}").json()["earned"] == "121.61"
    assert staff_client(finance).get(STAFF + f"distribution/report/?date_from={tomorrow}").json()["earned"] == "0.00"
    reversed_period = staff_client(finance).get(STAFF + f"distribution/report/?date_from={tomorrow}&date_to={today}")
    assert reversed_period.status_code == 400 and "date_to" in reversed_period.json()["fields"]


def test_the_report_is_for_finance_and_admins_of_that_hospital_only(activity, cashier, hospital_b, admin_b):
    assert staff_client(cashier).get(STAFF + "distribution/report/").status_code == 403
    assert staff_client(admin_b).get(STAFF + "distribution/report/").status_code == 403
    assert staff_client(admin_b).get("/api/v1/hospb/staff/distribution/report/").json()["earned"] == "0.00"


def test_the_admin_report_page_shows_the_operators_hospitals(activity, finance):
    other = make_hospital("elsewhere", name="别家医院")
    response = logged_in(finance).get(url("distribution_distributor_report"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "分销医院" in page and "121.61" in page and "-11.13" in page
    assert other.name not in page
    boss = make_operator("boss_dist", hospital=other)
    assert "121.61" not in logged_in(boss).get(url("distribution_distributor_report")).content.decode()


def test_withdrawals_list_for_finance(activity, finance):
    response = logged_in(finance).get(url("distribution_withdrawal_changelist"))
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == list(Withdrawal.objects.all())

"""Reads of the distribution programme: a distributor's centre, lists for the patient API (a fixed
number of queries whatever their length), and the per-hospital report for finance.

Sums are quantized to cents in Python: SQLite sums decimals as floats.
"""

from datetime import date, datetime, time
from decimal import Decimal

from django.db.models import CharField, Count, Exists, F, Max, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from hcm.distribution.models import (
    Application,
    ApplicationState,
    AttributionSource,
    Commission,
    CommissionAccount,
    CommissionKind,
    CommissionState,
    Distributor,
    OrderAttribution,
    Referral,
    Withdrawal,
    WithdrawalState,
)
from hcm.lowcode.errors import DomainError
from hcm.mall.models import Order, OrderState
from hcm.patients.models import WechatAccount

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
LIVE = (CommissionState.PENDING, CommissionState.SETTLED)
OPEN_WITHDRAWALS = (WithdrawalState.PENDING_REVIEW, WithdrawalState.APPROVED, WithdrawalState.TRANSFERRING)
# "distribution income", "team income" and "other income" of the income detail (MISSION A8).
INCOME_TYPES = {"distribution": CommissionKind.DIRECT, "team": CommissionKind.TEAM, "other": CommissionKind.INVITE}
ORDERED_STATES = (OrderState.PAID, OrderState.COMPLETED, OrderState.REFUNDING)


def money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def start_of_today() -> datetime:
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def distributor_of(account: WechatAccount) -> Distributor | None:
    return Distributor.objects.filter(account=account).select_related("hospital", "commission_account").first()


def require_distributor(account: WechatAccount) -> Distributor:
    distributor = distributor_of(account)
    if distributor is None:
        raise DomainError(
            _("You are not a distributor yet; apply to become one first."), code="not_distributor", status=409
        )
    return distributor


def latest_application(account: WechatAccount) -> Application | None:
    return Application.objects.filter(account=account).exclude(state=ApplicationState.NEW).order_by("-pk").first()


def balance_of(distributor: Distributor) -> Decimal:
    account = CommissionAccount.objects.filter(distributor=distributor).values_list("balance", flat=True).first()
    return account if account is not None else ZERO


def centre_summary(distributor: Distributor) -> dict:
    """Withdrawable, pending, total earned (pending and settled, never cancelled or clawed back),
    earned today, held by open withdrawals and withdrawn so far."""
    live = Q(state__in=LIVE)
    earned = Commission.objects.filter(distributor=distributor).aggregate(
        pending=Sum("amount", filter=Q(state=CommissionState.PENDING)),
        total=Sum("amount", filter=live),
        today=Sum("amount", filter=live & Q(created_at__gte=start_of_today())),
    )
    withdrawn = Withdrawal.objects.filter(distributor=distributor).aggregate(
        held=Sum("amount", filter=Q(state__in=OPEN_WITHDRAWALS)),
        paid=Sum("net_amount", filter=Q(state=WithdrawalState.PAID)),
    )
    balance = balance_of(distributor)
    return {
        "balance": balance,
        "withdrawable": max(balance, ZERO),
        "pending": money(earned["pending"]),
        "total_earned": money(earned["total"]),
        "today": money(earned["today"]),
        "held": money(withdrawn["held"]),
        "withdrawn": money(withdrawn["paid"]),
    }


def income_lines(distributor: Distributor, income_type: str | None = None) -> QuerySet[Commission]:
    """The distributor's commissions, newest first, optionally of one income type."""
    lines = Commission.objects.filter(distributor=distributor).select_related("order", "source")
    if income_type:
        lines = lines.filter(kind=INCOME_TYPES[income_type])
    return lines.order_by("-created_at", "-pk")


def income_totals(distributor: Distributor) -> dict[str, Decimal]:
    """Earned per income type (pending and settled)."""
    sums = Commission.objects.filter(distributor=distributor).aggregate(
        **{name: Sum("amount", filter=Q(kind=kind, state__in=LIVE)) for name, kind in INCOME_TYPES.items()}
    )
    return {name: money(value) for name, value in sums.items()}


def distribution_orders(distributor: Distributor) -> QuerySet[OrderAttribution]:
    """Orders credited to the distributor, with what each earned them (direct commission)."""
    mine = Commission.objects.filter(order=OuterRef("order"), distributor=distributor, kind=CommissionKind.DIRECT)
    return (
        OrderAttribution.objects.filter(distributor=distributor)
        .select_related("order__patient")
        .annotate(
            commission=Subquery(mine.values("amount")[:1]),
            commission_state=Subquery(mine.values("state")[:1]),
        )
        .order_by("-created_at", "-pk")
    )


def _has_ordered(account_field: str) -> Exists:
    return Exists(Order.objects.filter(account=OuterRef(account_field), state__in=ORDERED_STATES))


def invitations(distributor: Distributor, *, kind: str | None = None, ordered: bool = False) -> QuerySet:
    """People the distributor invited, as members or as distributors, newest first: rows of
    {account, kind, joined_at}; `ordered` keeps those who have placed a paid order."""
    members = Referral.objects.filter(distributor=distributor).order_by()
    invitees = Distributor.objects.filter(inviter=distributor).order_by()
    if ordered:
        members, invitees = members.filter(_has_ordered("account")), invitees.filter(_has_ordered("account"))
    text = CharField()
    members = members.values(person=F("account_id"), joined_at=F("created_at"), kind=Value("member", text))
    invitees = invitees.values(person=F("account_id"), joined_at=F("approved_at"), kind=Value("distributor", text))
    parts = {"member": [members], "distributor": [invitees]}.get(kind, [members, invitees])
    rows = parts[0] if len(parts) == 1 else parts[0].union(parts[1], all=True)
    return rows.order_by("-joined_at", "-person")


def people(account_ids: list[int]) -> dict[int, dict]:
    """Nickname, distributor name (masked) and paid orders of each account: three queries."""
    accounts = WechatAccount.objects.filter(pk__in=account_ids).values("pk", "nickname", "avatar_url")
    found = {row["pk"]: {**row, "name": "", "orders": 0, "amount": ZERO} for row in accounts}
    for distributor in Distributor.objects.filter(account_id__in=account_ids).only("account_id", "name"):
        found[distributor.account_id]["name"] = distributor.masked_name
    ordered = (
        Order.objects.filter(account_id__in=account_ids, state__in=ORDERED_STATES)
        .values("account_id")
        .annotate(orders=Count("pk"), amount=Sum("total"))
    )
    for row in ordered:
        found[row["account_id"]].update(orders=row["orders"], amount=money(row["amount"]))
    return found


def customers(distributor: Distributor) -> QuerySet:
    """Who ordered through the distributor's product shares: {person, orders, amount, last_ordered_at}."""
    return (
        OrderAttribution.objects.filter(
            distributor=distributor, source=AttributionSource.SHARE, order__state__in=ORDERED_STATES
        )
        .values(person=F("order__account_id"))
        .annotate(orders=Count("pk"), amount=Sum("order__total"), last_ordered_at=Max("created_at"))
        .order_by("-last_ordered_at", "-person")
    )


def withdrawals_of(distributor: Distributor) -> QuerySet[Withdrawal]:
    return Withdrawal.objects.filter(distributor=distributor).order_by("-created_at", "-pk")


def _between(field: str, date_from: date | None, date_to: date | None) -> Q:
    condition = Q()
    zone = timezone.get_current_timezone()
    if date_from:
        condition &= Q(**{f"{field}__gte": datetime.combine(date_from, time.min, tzinfo=zone)})
    if date_to:
        condition &= Q(**{f"{field}__lte": datetime.combine(date_to, time.max, tzinfo=zone)})
    return condition


def distribution_report(*, hospital, date_from: date | None = None, date_to: date | None = None) -> dict:
    """For finance: commissions earned (by kind), settled, cancelled and clawed back; withdrawals
    paid (gross, fees, net) and still open; what the accounts hold now. Each in its own period
    field: earned by creation, settled by settlement, withdrawn by payment."""
    commissions = Commission.objects.filter(hospital=hospital)
    earned = commissions.filter(_between("created_at", date_from, date_to)).aggregate(
        earned=Sum("amount", filter=~Q(state=CommissionState.CANCELLED)),
        cancelled=Sum("amount", filter=Q(state=CommissionState.CANCELLED)),
        **{
            f"earned_{name}": Sum("amount", filter=Q(kind=kind) & ~Q(state=CommissionState.CANCELLED))
            for name, kind in INCOME_TYPES.items()
        },
    )
    settled = commissions.filter(Q(settled_at__isnull=False) & _between("settled_at", date_from, date_to))
    clawed = commissions.filter(Q(clawed_back_at__isnull=False) & _between("clawed_back_at", date_from, date_to))
    settled, clawed = settled.aggregate(settled=Sum("amount")), clawed.aggregate(clawed=Sum("amount"))
    paid = Withdrawal.objects.filter(hospital=hospital, state=WithdrawalState.PAID).filter(
        _between("paid_at", date_from, date_to)
    )
    withdrawn = paid.aggregate(gross=Sum("amount"), fees=Sum("fee"), net=Sum("net_amount"), count=Count("pk"))
    open_now = Withdrawal.objects.filter(hospital=hospital, state__in=OPEN_WITHDRAWALS).aggregate(held=Sum("amount"))
    now = CommissionAccount.objects.filter(hospital=hospital).aggregate(balances=Sum("balance"))
    pending_now = commissions.filter(state=CommissionState.PENDING).aggregate(pending=Sum("amount"))
    return {
        "date_from": date_from,
        "date_to": date_to,
        "distributors": Distributor.objects.filter(hospital=hospital).count(),
        "earned": money(earned["earned"]),
        "earned_by_type": {name: money(earned[f"earned_{name}"]) for name in INCOME_TYPES},
        "cancelled": money(earned["cancelled"]),
        "settled": money(settled["settled"]),
        "clawed_back": money(clawed["clawed"]),
        "withdrawn": money(withdrawn["gross"]),
        "withdrawal_fees": money(withdrawn["fees"]),
        "paid_out": money(withdrawn["net"]),
        "withdrawals_paid": withdrawn["count"],
        "pending_now": money(pending_now["pending"]),
        "held_now": money(open_now["held"]),
        "balances_now": money(now["balances"]),
    }


def my_page_distribution(account: WechatAccount, patient) -> dict | None:
    """The my page's distribution entry: "become a distributor", "under review" or the centre
    (None where the hospital runs no distribution programme)."""
    if not account.hospital.has_feature("distribution"):
        return None
    if distributor_of(account) is not None:
        return {"status": ApplicationState.APPROVED.value, "withdrawable": f"{_withdrawable(account):.2f}"}
    application = latest_application(account)
    return {"status": application.state if application else "none", "withdrawable": None}


def _withdrawable(account: WechatAccount) -> Decimal:
    balance = CommissionAccount.objects.filter(distributor__account=account).values_list("balance", flat=True).first()
    return max(balance or ZERO, ZERO)

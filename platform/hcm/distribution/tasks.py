"""Schedules of the distribution programme (named, so start-up never duplicates them):

`distribution.settle_commissions` credits commissions whose settlement date has passed (the
order completed `settle_after_days` ago); `distribution.retry_transfers` asks WeChat again about
withdrawals whose transfer got no answer (same merchant number: paid at most once).
"""

import logging
from collections import Counter
from datetime import timedelta

from django.utils import timezone

from hcm.distribution.models import Commission, CommissionState, Withdrawal, WithdrawalState
from hcm.distribution.withdrawals import transfer_send
from hcm.lowcode.transitions import TransitionRefused, transition_apply

log = logging.getLogger(__name__)
SETTLE_SCHEDULE = "distribution.settle_commissions"
TRANSFER_SCHEDULE = "distribution.retry_transfers"
BATCH = 500
TRANSFER_RETRY_AFTER = timedelta(minutes=5)


def settle_commissions() -> int:
    """Settle every pending commission that is due, one transaction each; answers how many."""
    due = Commission.objects.filter(state=CommissionState.PENDING, settle_due_at__lte=timezone.now())
    settled = 0
    for commission in due.order_by("settle_due_at", "pk")[:BATCH]:
        try:
            transition_apply(obj=commission, name="settle", actor=None)
        except TransitionRefused:
            continue  # cancelled by a refund meanwhile
        settled += 1
    return settled


def retry_transfers() -> dict:
    """Ask again about WeChat transfers left without an answer for a while."""
    before = timezone.now() - TRANSFER_RETRY_AFTER
    stuck = Withdrawal.objects.filter(state=WithdrawalState.TRANSFERRING, updated_at__lt=before).order_by("pk")
    outcomes: Counter = Counter()
    for pk in stuck.values_list("pk", flat=True)[:BATCH]:
        try:
            outcomes[transfer_send(withdrawal_id=pk)] += 1
        except Exception:  # one stuck withdrawal must not stop the others
            log.exception("retrying the transfer of withdrawal %s failed", pk)
            outcomes["error"] += 1
    return dict(outcomes)


def ensure_schedules(**kwargs) -> None:
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=SETTLE_SCHEDULE,
        defaults={
            "func": "hcm.distribution.tasks.settle_commissions",
            "schedule_type": Schedule.MINUTES,
            "minutes": 15,
            "repeats": -1,
        },
    )
    Schedule.objects.update_or_create(
        name=TRANSFER_SCHEDULE,
        defaults={
            "func": "hcm.distribution.tasks.retry_transfers",
            "schedule_type": Schedule.MINUTES,
            "minutes": 10,
            "repeats": -1,
        },
    )

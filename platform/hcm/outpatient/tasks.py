"""Schedules of outpatient payment: reconciliation, and each hospital's pay-later reminders.

`outpatient.reconcile` (every 5 minutes) finishes payments left settling. Each hospital with
`outpatient.pay_later.enabled` gets its own named cron schedule
`outpatient.pay_later_reminders.<code>` at `pay_later.remind_at` (the hospital's time zone is
the deployment's TIME_ZONE); `ensure_schedules` keeps them in step with the configs.
"""

import logging
from collections import Counter
from collections.abc import Iterable

from django.utils import timezone

from hcm.his.contract import HisError, adapter_for
from hcm.hospitals.models import Hospital
from hcm.notifications.services import notify_many
from hcm.outpatient import services
from hcm.outpatient.models import OutpatientPayment, OutpatientState, Prescription
from hcm.patients.models import Binding

log = logging.getLogger(__name__)
RECONCILE_SCHEDULE = "outpatient.reconcile"
REMINDER_SCHEDULE_PREFIX = "outpatient.pay_later_reminders."


def reconcile() -> dict:
    """Finish outpatient payments left settling for longer than a moment."""
    before = timezone.now() - services.STUCK_AFTER
    outcomes: Counter = Counter()
    stuck = OutpatientPayment.objects.filter(state=OutpatientState.SETTLING, updated_at__lt=before)
    for payment in stuck.select_related("hospital").order_by("pk")[:500]:
        try:
            outcomes[services.outpatient_reconcile(payment=payment)] += 1
        except Exception:  # one stuck payment must not stop the others
            log.exception("reconciliation of outpatient payment %s failed", payment.number)
            outcomes["error"] += 1
    return dict(outcomes)


def start_of_today():
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def sync_pay_later_bills(hospital: Hospital) -> None:
    """Refresh our copy of the hospital's unpaid pay-later bills from the HIS (one call)."""
    before = start_of_today()
    unpaid = adapter_for(hospital).pay_later_unpaid(issued_before=before)
    services.mirror_pay_later(hospital=hospital, unpaid=unpaid, issued_before=before)


def send_pay_later_reminders(hospital_code: str) -> int:
    """Remind every bound patient of each pay-later bill left unpaid before today, once per bill
    per account per day, set-based: batched reads and inserts, never a query per bill."""
    hospital = Hospital.objects.get(code=hospital_code)
    if not hospital.settings.outpatient.pay_later.enabled:
        return 0
    try:
        sync_pay_later_bills(hospital)
    except HisError as error:  # remind from what we knew: better than nothing
        log.warning("%s: could not refresh pay-later bills from the HIS: %s", hospital.code, error)
    today = timezone.localdate()
    bills = Prescription.objects.filter(
        hospital=hospital, pay_later=True, paid=False, issued_at__lt=start_of_today()
    ).values_list("number", "medical_card_number", "amount", "department", "issued_at")
    bindings = Binding.objects.filter(hospital=hospital, patient__medical_card_number__in=_cards(bills))
    accounts: dict[str, list] = {}
    for binding in bindings.select_related("account", "patient"):
        accounts.setdefault(binding.patient.medical_card_number, []).append(binding.account)
    messages = [
        (account, _reminder_data(number, amount, department, issued_at), f"pay_later:{number}:{account.pk}:{today}")
        for number, card, amount, department, issued_at in bills.iterator(chunk_size=5000)
        for account in accounts.get(card, ())
    ]
    return notify_many(hospital=hospital, event="pay_later_reminder", messages=messages)


def _cards(bills) -> Iterable[str]:
    return bills.values("medical_card_number")


def _reminder_data(number: str, amount, department: str, issued_at) -> dict[str, str]:
    return {
        "prescription": number,
        "amount": f"{amount:.2f} 元",
        "department": department,
        "time": timezone.localtime(issued_at).strftime("%Y-%m-%d"),
    }


def ensure_schedules(**kwargs) -> None:
    """The reconciliation schedule, and one reminder schedule per hospital with pay-later on."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=RECONCILE_SCHEDULE,
        defaults={
            "func": "hcm.outpatient.tasks.reconcile",
            "schedule_type": Schedule.MINUTES,
            "minutes": 5,
            "repeats": -1,
        },
    )
    wanted = {}
    for hospital in Hospital.objects.filter(is_active=True):
        pay_later = hospital.settings.outpatient.pay_later
        if hospital.has_feature("outpatient") and pay_later.enabled:
            wanted[REMINDER_SCHEDULE_PREFIX + hospital.code] = (hospital.code, pay_later.remind_at)
    for name, (code, cron) in wanted.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": "hcm.outpatient.tasks.send_pay_later_reminders",
                "args": repr((code,)),
                "schedule_type": Schedule.CRON,
                "cron": cron,
                "repeats": -1,
            },
        )
    Schedule.objects.filter(name__startswith=REMINDER_SCHEDULE_PREFIX).exclude(name__in=wanted).delete()

"""Writes of outpatient payment: read the HIS's bills, charge one or several, settle each in
the HIS, refund what the HIS would not settle, and finish what a crash left half-way.

No HIS call happens inside a transaction that holds a lock: the charge commits first, then
settlement runs prescription by prescription (a task queued after commit), recording each
answer in its own short transaction. `settle` is idempotent in the HIS on (prescription,
payment number), so running it again after a timeout or a crash never settles twice.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from hcm.his.contract import AlreadySettled, HisPatient, HisRefused, HisUnavailable, PreSettlement, adapter_for
from hcm.his.contract import Prescription as HisPrescription
from hcm.hospitals.models import Hospital
from hcm.lowcode.errors import DomainError
from hcm.lowcode.numbers import new_number
from hcm.lowcode.transitions import transition_apply
from hcm.notifications.services import notify
from hcm.outpatient.models import LineState, OutpatientPayment, OutpatientPaymentLine, OutpatientState, Prescription
from hcm.patients.identity import mask_name
from hcm.patients.models import PatientRecord, WechatAccount
from hcm.payments import services as payments
from hcm.payments.models import SETTLED_STATES, Method, Payment, PaymentState

log = logging.getLogger(__name__)
ZERO = Decimal("0.00")
SETTLE_TASK = "hcm.outpatient.services.outpatient_settle"


class OutpatientRefused(DomainError):
    code = "outpatient_refused"
    status = 409


@dataclass(frozen=True)
class BookingBlock:
    """Why a person may not book, and what to do about it (for the patient)."""

    code: str
    message: str
    action: str = ""


@dataclass(frozen=True)
class Bill:
    """An unpaid prescription as the patient sees it: with the time it may be paid until."""

    prescription: HisPrescription
    pay_by: datetime | None  # None for pay-later bills: the HIS decides, we invent no expiry

    @property
    def expired(self) -> bool:
        return self.pay_by is not None and self.pay_by < timezone.now()


def _bill(hospital: Hospital, prescription: HisPrescription) -> Bill:
    if prescription.pay_later:
        return Bill(prescription, None)
    return Bill(prescription, prescription.created_at + hospital.settings.outpatient.prescription_validity)


# --- Reading the HIS --------------------------------------------------------------------


def his_patient_for(*, hospital: Hospital, patient: PatientRecord) -> HisPatient:
    """The HIS's record of a bound person, found by the medical card number."""
    found = adapter_for(hospital).find_patient(medical_card_number=patient.medical_card_number)
    if found is None:
        raise OutpatientRefused(
            _("The hospital system has no record of this person; please ask at the hospital."),
            code="his_patient_not_found",
            status=404,
        )
    return found


MIRRORED = ["medical_card_number", "kind", "department", "doctor", "items", "amount", "pay_later", "mergeable", "paid"]


def _upsert_changed(*, hospital: Hospital, rows: list[Prescription], known: dict[str, tuple]) -> None:
    """Write only the bills that are new or differ from our copy (`known`: number -> the MIRRORED
    values we hold), so reading an unchanged list writes nothing."""
    changed = [row for row in rows if known.get(row.number) != tuple(getattr(row, f) for f in MIRRORED)]
    if changed:
        Prescription.objects.bulk_create(
            changed,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["hospital", "number"],
            update_fields=MIRRORED,
        )


def _known(queryset) -> dict[str, tuple]:
    return {number: tuple(values) for number, *values in queryset.values_list("number", *MIRRORED)}


def mirror_prescriptions(*, hospital: Hospital, his_patient: HisPatient, unpaid: list[HisPrescription]) -> None:
    """Keep our copy of the patient's bills as the HIS just listed them (set-based)."""
    rows = [_mirror_row(hospital, p, his_patient.medical_card_number) for p in unpaid]
    ours = Prescription.objects.filter(hospital=hospital, his_patient_id=his_patient.his_patient_id)
    known = _known(ours.filter(paid=False) | ours.filter(number__in=[row.number for row in rows]))
    _upsert_changed(hospital=hospital, rows=rows, known=known)
    listed = {row.number for row in rows}
    gone = [number for number, values in known.items() if number not in listed and not values[-1]]
    if gone:  # no longer unpaid in the HIS: paid at the window, or here
        Prescription.objects.filter(hospital=hospital, number__in=gone).update(paid=True, last_seen_at=timezone.now())


def mirror_pay_later(*, hospital: Hospital, unpaid: list[HisPrescription], issued_before: datetime) -> None:
    """Keep our copy of the hospital's unpaid pay-later bills issued before `issued_before` as the
    HIS just listed them: only new and changed bills are written."""
    rows = [_mirror_row(hospital, p, p.medical_card_number) for p in unpaid]
    known = _known(Prescription.objects.filter(hospital=hospital, pay_later=True, issued_at__lt=issued_before))
    _upsert_changed(hospital=hospital, rows=rows, known=known)
    listed = {row.number for row in rows}
    # Bills the HIS no longer lists were paid (at the window, or here): set-based, in batches.
    gone = [number for number, values in known.items() if number not in listed and not values[-1]]
    for start in range(0, len(gone), 2000):
        Prescription.objects.filter(hospital=hospital, number__in=gone[start : start + 2000]).update(paid=True)


def may_book(*, patient: PatientRecord) -> BookingBlock | None:
    """Whether this person may book an appointment: None, or why not (unpaid pay-later bills
    issued before today, where the hospital blocks booking for them). The appointments app
    adds its own no-show rule."""
    pay_later = patient.hospital.settings.outpatient.pay_later
    if not (pay_later.enabled and pay_later.block_booking_while_unpaid):
        return None
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    unpaid = Prescription.objects.filter(
        hospital_id=patient.hospital_id,
        medical_card_number=patient.medical_card_number,
        pay_later=True,
        paid=False,
        issued_at__lt=today,
    ).order_by("issued_at")
    numbers = list(unpaid.values_list("number", flat=True)[:10])
    if not numbers:
        return None
    return BookingBlock(
        code="unpaid_pay_later_bills",
        message=_("Please pay your outstanding treat-first-pay-later bills (%(numbers)s) before booking.")
        % {"numbers": "、".join(numbers)},
        action=_("Pay them under Outpatient payment → Unpaid."),
    )


def _mirror_row(hospital: Hospital, prescription: HisPrescription, medical_card_number: str) -> Prescription:
    return Prescription(
        hospital=hospital,
        number=prescription.number,
        his_patient_id=prescription.his_patient_id,
        medical_card_number=medical_card_number,
        kind=prescription.kind,
        department=prescription.department,
        doctor=prescription.doctor,
        items=[
            {
                "name": item.name,
                "quantity": str(item.quantity),
                "unit": item.unit,
                "unit_price": str(item.unit_price),
                "amount": str(item.amount),
            }
            for item in prescription.items
        ],
        amount=prescription.amount,
        issued_at=prescription.created_at,
        pay_later=prescription.pay_later,
        mergeable=prescription.mergeable,
        paid=False,
    )


def unpaid_bills(*, hospital: Hospital, patient: PatientRecord) -> list[Bill]:
    """The bound person's unpaid prescriptions, straight from the HIS, with their pay-by times."""
    his_patient = his_patient_for(hospital=hospital, patient=patient)
    unpaid = adapter_for(hospital).unpaid_prescriptions(his_patient_id=his_patient.his_patient_id)
    mirror_prescriptions(hospital=hospital, his_patient=his_patient, unpaid=unpaid)
    return [_bill(hospital, p) for p in unpaid]


def paid_prescriptions(*, hospital: Hospital, patient: PatientRecord):
    """The bound person's paid prescriptions with their receipts and shares, from the HIS."""
    his_patient = his_patient_for(hospital=hospital, patient=patient)
    return adapter_for(hospital).paid_prescriptions(his_patient_id=his_patient.his_patient_id)


def bill_by_code(*, hospital: Hospital, pay_code: str, name: str = "", phone_tail: str = "") -> tuple[Bill, HisPatient]:
    """The unpaid prescription printed with `pay_code`, if the second factor (the patient's full
    name or the last four digits of their phone) matches.

    Every mismatch answers the same `bill_not_found`: an unknown code, a wrong factor, and a code
    already paid (the HIS does not say whose a paid one was, so nobody can prove the factor for
    it), so trying codes tells a stranger nothing about which are real.
    """
    if not hospital.settings.outpatient.scan_to_pay_without_binding:
        raise OutpatientRefused(
            _("This hospital does not accept payment by the prescription's code; please bind first."),
            code="pay_by_code_off",
            status=403,
        )
    not_found = OutpatientRefused(
        _("No unpaid prescription matches this code and these details."), code="bill_not_found", status=404
    )
    if not (name or phone_tail):
        raise DomainError(
            _("Enter the patient's name or the last four digits of their phone."),
            code="invalid",
            fields={"name": [_("Enter the patient's name or the last four digits of their phone.")]},
        )
    his = adapter_for(hospital)
    try:
        prescription = his.prescription_by_code(pay_code=pay_code.strip())
    except AlreadySettled:
        raise not_found
    if prescription is None:
        raise not_found
    his_patient = his.patient(his_patient_id=prescription.his_patient_id)
    if his_patient is None or not _second_factor_matches(his_patient, name=name, phone_tail=phone_tail):
        raise not_found
    return _bill(hospital, prescription), his_patient


def _second_factor_matches(his_patient: HisPatient, *, name: str, phone_tail: str) -> bool:
    if name and name.strip() != his_patient.name:
        return False
    return not (phone_tail and (len(phone_tail.strip()) < 4 or not his_patient.phone.endswith(phone_tail.strip())))


# --- Paying -----------------------------------------------------------------------------


def _number() -> str:
    return new_number("M")


def _check_merge(hospital: Hospital, bills: list[Bill]) -> None:
    """The hospital's merge rules and the HIS's own may-merge flags."""
    if len(bills) == 1:
        return
    rules = hospital.settings.outpatient.merge
    if not rules.enabled:
        raise OutpatientRefused(_("This hospital takes one prescription per payment."), code="merge_disabled")
    if len(bills) > rules.max_prescriptions:
        raise OutpatientRefused(
            _("At most %(count)d prescriptions can be paid together.") % {"count": rules.max_prescriptions},
            code="merge_too_many",
        )
    if rules.same_department_only and len({b.prescription.department for b in bills}) > 1:
        raise OutpatientRefused(
            _("Only prescriptions of the same department can be paid together."), code="merge_mixed_departments"
        )
    if rules.same_kind_only and len({b.prescription.kind for b in bills}) > 1:
        raise OutpatientRefused(
            _("Only prescriptions of the same kind can be paid together."), code="merge_mixed_kinds"
        )
    single = [b.prescription.number for b in bills if not b.prescription.mergeable]
    if single:
        raise OutpatientRefused(
            _("Prescription %(numbers)s must be paid on its own.") % {"numbers": "、".join(single)},
            code="merge_not_allowed_by_his",
        )


def _choose(hospital: Hospital, unpaid: list[Bill], numbers: list[str]) -> list[Bill]:
    by_number = {b.prescription.number: b for b in unpaid}
    missing = [n for n in numbers if n not in by_number]
    if missing:
        raise OutpatientRefused(
            _("Prescription %(numbers)s is not unpaid (paid already, or not yours).") % {"numbers": "、".join(missing)},
            code="prescription_not_unpaid",
        )
    chosen = [by_number[n] for n in dict.fromkeys(numbers)]
    expired = [b.prescription.number for b in chosen if b.expired]
    if expired:
        raise OutpatientRefused(
            _("Prescription %(numbers)s is past its payment time; please ask the doctor or pay at the window.")
            % {"numbers": "、".join(expired)},
            code="prescription_expired",
        )
    busy = OutpatientPaymentLine.objects.filter(
        hospital=hospital,
        number__in=numbers,
        payment__state__in=[OutpatientState.SETTLING, OutpatientState.REFUNDING],
        state=LineState.PENDING,
    )
    if busy.exists():
        raise OutpatientRefused(
            _("A payment of this prescription is being settled; please wait a moment."), code="prescription_busy"
        )
    return chosen


def _check_pre_settlement(bills: list[Bill], pre: PreSettlement) -> None:
    for bill in bills:
        line = next((line for line in pre.lines if line.number == bill.prescription.number), None)
        if line is None or line.amount != bill.prescription.amount:
            raise OutpatientRefused(
                _("The amount no longer matches the hospital's bill; please refresh and pay again."),
                code="amount_mismatch",
            )


def outpatient_pay(
    *,
    account: WechatAccount,
    numbers: list[str],
    method: str,
    patient: PatientRecord | None = None,
    his_patient: HisPatient | None = None,
    password: str = "",
    client_ip: str = "",
) -> tuple[OutpatientPayment, payments.PaymentStart | None]:
    """Charge the self-pay share of one or several unpaid prescriptions of one patient; each is
    settled in the HIS once the charge succeeds (see `outpatient_settle`)."""
    hospital = account.hospital
    if not numbers:
        raise DomainError(_("Choose at least one prescription."), code="invalid", fields={"numbers": [_("Required.")]})
    payments.method_check(hospital=hospital, method=method)
    his = adapter_for(hospital)
    if his_patient is None:
        his_patient = his_patient_for(hospital=hospital, patient=patient)
    unpaid = [_bill(hospital, p) for p in his.unpaid_prescriptions(his_patient_id=his_patient.his_patient_id)]
    bills = _choose(hospital, unpaid, numbers)
    _check_merge(hospital, bills)
    insurance = hospital.settings.outpatient.insurance.enabled and his_patient.insured
    pre = his.pre_settle(
        his_patient_id=his_patient.his_patient_id, numbers=[b.prescription.number for b in bills], insurance=insurance
    )
    _check_pre_settlement(bills, pre)
    payment = _create(
        account=account, patient=patient, his_patient=his_patient, bills=bills, pre=pre, insurance=insurance
    )
    if payment.self_pay_amount == ZERO:  # insurance pays everything: nothing to charge
        with transaction.atomic():
            transition_apply(obj=payment, name="charged", actor=None, data={"payment_method": "insurance"})
            transaction.on_commit(lambda: _queue_settle(payment.pk))
        return OutpatientPayment.objects.get(pk=payment.pk), None
    try:
        start = payments.payment_start(
            payable=payment, method=method, account=account, patient=patient, password=password, client_ip=client_ip
        )
    except DomainError:
        if not payments.payments_of(payable=payment).exists():  # nothing was charged, nor will be
            transition_apply(obj=payment, name="charge_failed", actor=None)
        raise
    return OutpatientPayment.objects.get(pk=payment.pk), start


def _create(*, account, patient, his_patient: HisPatient, bills: list[Bill], pre: PreSettlement, insurance: bool):
    hospital = account.hospital
    with transaction.atomic():
        payment = OutpatientPayment.objects.create(
            hospital=hospital,
            number=_number(),
            account=account,
            patient=patient,
            his_patient_id=his_patient.his_patient_id,
            patient_name=mask_name(his_patient.name),
            pre_settle_id=pre.pre_settle_id,
            insurance=insurance,
            amount=pre.amount,
            insurance_amount=pre.insurance_amount,
            self_pay_amount=pre.self_pay_amount,
        )
        OutpatientPaymentLine.objects.bulk_create(
            OutpatientPaymentLine(
                hospital=hospital,
                payment=payment,
                number=bill.prescription.number,
                kind=bill.prescription.kind,
                department=bill.prescription.department,
                doctor=bill.prescription.doctor,
                amount=pre.line(bill.prescription.number).amount,
                insurance_amount=pre.line(bill.prescription.number).insurance_amount,
                self_pay_amount=pre.line(bill.prescription.number).self_pay_amount,
            )
            for bill in bills
        )
    return payment


# --- What payments tell an outpatient payment (hcm.payments.payables) --------------------


def outpatient_charged(*, payable: OutpatientPayment, payment: Payment) -> None:
    """The charge succeeded (in the payment's transaction): settle after commit."""
    transition_apply(obj=payable, name="charged", actor=None, data={"payment_method": payment.method})
    OutpatientPayment.objects.filter(pk=payable.pk).update(paid_at=payment.paid_at)
    pk = payable.pk
    transaction.on_commit(lambda: _queue_settle(pk))


def outpatient_payment_started(*, payable: OutpatientPayment, payment: Payment) -> None:
    """Pay at the window chosen: the payment waits for the cashier."""
    OutpatientPayment.objects.filter(pk=payable.pk).update(payment_method=payment.method)


def outpatient_charge_closed(*, payable: OutpatientPayment, payment: Payment) -> None:
    """The charge was never made (WeChat's order closed unpaid)."""
    transition_apply(obj=payable, name="charge_failed", actor=None)


def outpatient_confirm_payment(*, obj: OutpatientPayment, actor, note: str) -> OutpatientPayment:
    """The cashier took the self-pay share at the counter (transition service, row locked)."""
    charge = payments.payments_of(payable=obj).filter(method=Method.AT_HOSPITAL, state=PaymentState.PENDING).first()
    if charge is None:
        raise OutpatientRefused(_("There is no unpaid pay-at-the-counter payment to confirm."), code="not_collectable")
    payments.payment_collect(payment=charge, actor=actor, note=note)  # calls outpatient_charged
    return OutpatientPayment.objects.get(pk=obj.pk)


def _queue_settle(pk: int) -> None:
    async_task(SETTLE_TASK, payment_id=pk, task_name=f"outpatient-settle-{pk}")


# --- Settling ---------------------------------------------------------------------------


def outpatient_settle(*, payment_id: int) -> str:
    """Settle every pending prescription of a charged payment in the HIS, one by one; refund the
    share of each the HIS refuses; leave those it did not answer for reconciliation."""
    payment = OutpatientPayment.objects.select_related("hospital").get(pk=payment_id)
    if payment.state != OutpatientState.SETTLING:
        return payment.state
    his = adapter_for(payment.hospital)
    for line in payment.lines.filter(state=LineState.PENDING).order_by("pk"):
        try:
            settlement = his.settle(
                his_patient_id=payment.his_patient_id,
                number=line.number,
                pre_settle_id=payment.pre_settle_id,
                payment_reference=payment.number,
                self_pay_amount=line.self_pay_amount,
            )
        except HisUnavailable as error:
            log.warning("outpatient %s: settling %s got no answer: %s", payment.number, line.number, error)
            continue  # it may have happened: reconciliation asks settlement_status
        except HisRefused as error:
            _line_failed(line=line, reason=error.message)
            continue
        _line_settled(line=line, receipt_number=settlement.receipt_number, settled_at=settlement.settled_at)
    return _finish_if_done(payment_id=payment.pk)


def _line_settled(*, line: OutpatientPaymentLine, receipt_number: str, settled_at) -> None:
    with transaction.atomic():
        locked = OutpatientPaymentLine.objects.select_for_update().get(pk=line.pk)
        if locked.state != LineState.PENDING:
            return
        locked.state = LineState.SETTLED
        locked.receipt_number = receipt_number
        locked.settled_at = settled_at
        locked.save(update_fields=["state", "receipt_number", "settled_at"])
        Prescription.objects.filter(hospital_id=locked.hospital_id, number=locked.number).update(paid=True)


def _line_failed(*, line: OutpatientPaymentLine, reason: str) -> None:
    """The HIS will not settle this prescription: its self-pay share goes back, it is unpaid again."""
    with transaction.atomic():
        outpatient = OutpatientPayment.objects.select_for_update().get(pk=line.payment_id)
        locked = OutpatientPaymentLine.objects.select_for_update().get(pk=line.pk)
        if locked.state != LineState.PENDING:
            return
        locked.state = LineState.FAILED
        locked.failure = reason[:200]
        locked.save(update_fields=["state", "failure"])
        _refund_share(outpatient=outpatient, amount=locked.self_pay_amount, reason=_("Settlement failed"))
        notify(
            hospital=outpatient.hospital,
            account=outpatient.account,
            event="refund",
            data={
                "order": locked.number,
                "amount": f"{locked.self_pay_amount:.2f} 元",
                "reason": str(
                    _("The hospital system could not settle prescription %(number)s; it was refunded.")
                    % {"number": locked.number}
                ),
            },
            dedupe_key=f"outpatient-failed:{outpatient.number}:{locked.number}",
        )


def _refund_share(*, outpatient: OutpatientPayment, amount: Decimal, reason: str) -> None:
    """Return `amount` of the outpatient payment's charge the way it came (nothing for insurance)."""
    if amount <= ZERO:
        return
    charge = payments.payments_of(payable=outpatient).filter(state__in=SETTLED_STATES).first()
    if charge is None:
        return
    payments.payment_refund(payment=charge, amount=amount, reason=reason, actor=None)
    OutpatientPayment.objects.filter(pk=outpatient.pk).update(refunded_amount=outpatient.refunded_amount + amount)
    outpatient.refunded_amount += amount


def _finish_if_done(*, payment_id: int) -> str:
    """Once no prescription is pending: settled, partially refunded or refunded."""
    with transaction.atomic():
        payment = OutpatientPayment.objects.select_for_update().get(pk=payment_id)
        lines = list(payment.lines.all())
        if payment.state != OutpatientState.SETTLING or any(line.state == LineState.PENDING for line in lines):
            return payment.state
        settled = [line for line in lines if line.state == LineState.SETTLED]
        target = (
            OutpatientState.SETTLED
            if len(settled) == len(lines)
            else OutpatientState.PARTIALLY_REFUNDED
            if settled
            else OutpatientState.REFUNDED
        )
        transition_apply(obj=payment, name="settle_done", actor=None, data={"target": target})
    return target


# --- Reconciliation ---------------------------------------------------------------------

STUCK_AFTER = timedelta(minutes=2)


def outpatient_reconcile(*, payment: OutpatientPayment) -> str:
    """A payment left settling (the process died after the charge, or the HIS timed out): ask the
    HIS what became of each pending prescription, record it, and settle what was never settled."""
    if payment.state != OutpatientState.SETTLING:
        return "skipped"
    his = adapter_for(payment.hospital)
    for line in payment.lines.filter(state=LineState.PENDING):
        try:
            settlement = his.settlement_status(number=line.number, payment_reference=payment.number)
        except HisUnavailable:
            return "unreachable"
        if settlement is not None:
            _line_settled(line=line, receipt_number=settlement.receipt_number, settled_at=settlement.settled_at)
    return outpatient_settle(payment_id=payment.pk)


# --- Operator refunds -------------------------------------------------------------------


def outpatient_refund_start(*, obj: OutpatientPayment, actor, reason: str) -> OutpatientPayment:
    """An operator refunds a paid outpatient payment (transition service, row locked): the HIS
    settlements are cancelled and the money returned after commit."""
    obj.refund(reason=reason)
    obj.save()
    pk = obj.pk
    transaction.on_commit(lambda: async_task("hcm.outpatient.services.outpatient_refund_run", payment_id=pk))
    return obj


def outpatient_refund_run(*, payment_id: int) -> str:
    """Cancel each settled prescription in the HIS, then return its share; a prescription the HIS
    would not cancel stays settled and paid (the operator sees which)."""
    payment = OutpatientPayment.objects.select_related("hospital").get(pk=payment_id)
    if payment.state != OutpatientState.REFUNDING:
        return payment.state
    his = adapter_for(payment.hospital)
    for line in payment.lines.filter(state=LineState.SETTLED).order_by("pk"):
        try:
            his.cancel_settlement(number=line.number, payment_reference=payment.number)
        except (HisUnavailable, HisRefused) as error:
            OutpatientPaymentLine.objects.filter(pk=line.pk).update(failure=error.message[:200])
            continue
        with transaction.atomic():
            outpatient = OutpatientPayment.objects.select_for_update().get(pk=payment.pk)
            OutpatientPaymentLine.objects.filter(pk=line.pk).update(state=LineState.REFUNDED, failure="")
            Prescription.objects.filter(hospital_id=line.hospital_id, number=line.number).update(paid=False)
            _refund_share(outpatient=outpatient, amount=line.self_pay_amount, reason=payment.refund_reason)
    with transaction.atomic():
        payment = OutpatientPayment.objects.select_for_update().get(pk=payment.pk)
        states = set(payment.lines.values_list("state", flat=True))
        target = (
            OutpatientState.SETTLED
            if states == {LineState.SETTLED}
            else OutpatientState.PARTIALLY_REFUNDED
            if LineState.SETTLED in states
            else OutpatientState.REFUNDED
        )
        transition_apply(obj=payment, name="refund_done", actor=None, data={"target": target})
    notify(
        hospital=payment.hospital,
        account=payment.account,
        event="refund",
        data={"order": payment.number, "amount": f"{payment.refunded_amount:.2f} 元", "reason": payment.refund_reason},
        dedupe_key=f"outpatient-refund:{payment.number}",
    )
    return target

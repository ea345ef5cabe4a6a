"""What the platform may ask of a hospital information system (HIS), whatever HIS it is.

The outpatient, appointments and reports apps depend on this module only: the values (frozen
dataclasses, money as Decimal), the errors, the abstract `HisAdapter` and
`adapter_for(hospital)`. How the questions travel (HTTP + JSON today, see `hcm.his.http`)
stays behind the adapter.

Settling is the one call that moves money inside the HIS, and it can time out after the HIS
did the work. So `settle` is idempotent on (number, payment_reference), and
`settlement_status` answers "did it happen?" for the same pair: a caller that got
`HisUnavailable` from `settle` asks, then either records the receipt or tries again with
the same reference. Nothing here retries a settlement by itself.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from hcm.lowcode.errors import DomainError

if TYPE_CHECKING:
    from hcm.hospitals.models import Hospital


class PrescriptionKind(models.TextChoices):
    CHINESE_MEDICINE = "chinese_medicine", gettext_lazy("Chinese medicine")
    WESTERN_MEDICINE = "western_medicine", gettext_lazy("Western medicine")
    TREATMENT = "treatment", gettext_lazy("Treatment")


@dataclass(frozen=True)
class HisPatient:
    his_patient_id: str
    name: str
    medical_card_number: str
    phone: str
    id_number: str
    insured: bool = False  # covered by medical insurance: pre_settle(insurance=True) can split


@dataclass(frozen=True)
class PrescriptionItem:
    name: str  # with its specification, as the HIS prints it, e.g. "阿莫西林胶囊 0.25g*24粒"
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Prescription:
    """An outpatient bill as the HIS issued it: medicine, or a lab test / exam / treatment."""

    number: str  # unique in the HIS
    his_patient_id: str
    medical_card_number: str  # the patient's, so a bill can be matched to our patient records
    kind: PrescriptionKind
    department: str
    doctor: str
    items: tuple[PrescriptionItem, ...]
    amount: Decimal
    created_at: datetime  # aware
    pay_later: bool  # "treat first, pay later": already treated, the bill follows
    mergeable: bool  # the HIS allows paying it together with others
    pay_code: str  # printed on the prescription as QR / barcode, for paying without binding


@dataclass(frozen=True)
class PreSettlementLine:
    number: str
    amount: Decimal
    insurance_amount: Decimal
    self_pay_amount: Decimal


@dataclass(frozen=True)
class PreSettlement:
    """The HIS's price check before charging: what insurance covers and what the patient pays."""

    pre_settle_id: str  # pass it to settle(); it names this split
    his_patient_id: str
    insurance: bool  # whether insurance takes part: False when not asked for or the patient is not insured
    lines: tuple[PreSettlementLine, ...]
    amount: Decimal
    insurance_amount: Decimal
    self_pay_amount: Decimal

    def line(self, number: str) -> PreSettlementLine:
        """The line of one prescription (KeyError if it was not pre-settled here)."""
        found = next((line for line in self.lines if line.number == number), None)
        if found is None:
            raise KeyError(number)
        return found


@dataclass(frozen=True)
class Settlement:
    """One prescription paid in the HIS: its receipt, and which payment paid it."""

    number: str
    payment_reference: str
    receipt_number: str
    settled_at: datetime  # aware
    amount: Decimal
    insurance_amount: Decimal
    self_pay_amount: Decimal


@dataclass(frozen=True)
class PaidPrescription:
    prescription: Prescription
    settlement: Settlement

    @property
    def receipt_number(self) -> str:
        return self.settlement.receipt_number

    @property
    def settled_at(self) -> datetime:
        return self.settlement.settled_at

    @property
    def insurance_amount(self) -> Decimal:
        return self.settlement.insurance_amount

    @property
    def self_pay_amount(self) -> Decimal:
        return self.settlement.self_pay_amount


SESSIONS = ("morning", "afternoon", "evening")  # HisScheduleSlot.session, in the order of a day


@dataclass(frozen=True)
class HisScheduleSlot:
    """A time slot of a doctor's clinic session as the HIS schedules it: the places it offers and its fee."""

    his_slot_id: str  # unique in the HIS
    doctor_code: str
    doctor_name: str
    department: str
    date: date
    session: str  # one of SESSIONS
    start_time: time
    end_time: time
    capacity: int
    fee: Decimal


class ReportKind(models.TextChoices):
    CHECKUP = "checkup", gettext_lazy("Checkup report")
    EXAM = "exam", gettext_lazy("Examination result")


ABNORMAL_FLAGS = ("", "high", "low")  # ExamItem.abnormal: normal, above or below the reference range


@dataclass(frozen=True)
class CheckupSection:
    name: str  # e.g. "一般检查", "腹部彩超"
    findings: str


@dataclass(frozen=True)
class HisCheckupReport:
    """A health checkup's report: the chief examiner's summary, findings per section, conclusions."""

    report_number: str  # unique in the HIS
    his_patient_id: str
    medical_card_number: str  # the patient's, to match our patient records
    title: str
    checkup_date: date
    summary: str
    sections: tuple[CheckupSection, ...]
    conclusions: tuple[str, ...]
    has_pdf: bool  # report_pdf() answers the signed original
    reported_at: datetime  # aware: when it became ready
    updated_at: datetime | None = None  # aware: when the HIS last changed it; None means reported_at

    def __post_init__(self) -> None:
        if self.updated_at is None:
            object.__setattr__(self, "updated_at", self.reported_at)


@dataclass(frozen=True)
class ExamItem:
    name: str
    value: str  # as the laboratory printed it: "5.6", "阴性", ">1000"
    unit: str
    reference_range: str
    abnormal: str = ""  # one of ABNORMAL_FLAGS


@dataclass(frozen=True)
class HisExamResult:
    """A daily examination's result (a laboratory test or an exam): items with reference ranges."""

    result_number: str  # unique in the HIS
    his_patient_id: str
    medical_card_number: str
    name: str  # e.g. "血常规"
    department: str
    sampled_at: datetime  # aware
    reported_at: datetime  # aware: when it became ready
    items: tuple[ExamItem, ...]
    updated_at: datetime | None = None  # aware: when the HIS last changed it; None means reported_at

    def __post_init__(self) -> None:
        if self.updated_at is None:
            object.__setattr__(self, "updated_at", self.reported_at)


@dataclass(frozen=True)
class HisNewReports:
    """Every report of every patient that became ready in a period, oldest first (one call)."""

    checkup_reports: tuple[HisCheckupReport, ...]
    exam_results: tuple[HisExamResult, ...]


class HisError(DomainError):
    """Anything that went wrong talking to the HIS; `message` is for the patient."""

    code = "his_error"
    status = 502

    def __init__(self, message: str | None = None, *, code: str | None = None, his_message: str = ""):
        self.code = code or self.code  # before default_message(), which may depend on it
        super().__init__(message or self.default_message(), code=self.code)
        self.his_message = his_message  # what the HIS said, for logs and operators

    def default_message(self) -> str:
        return _("The hospital system could not process the request; please try again later.")


class HisUnavailable(HisError):
    """No usable answer (refused connection, timeout, 5xx): the operation may or may not have happened."""

    code = "his_unavailable"
    status = 503

    def default_message(self) -> str:
        return _("The hospital system is temporarily unavailable; please try again later.")


class HisNotConfigured(HisUnavailable):
    """The hospital has no HIS connection (adapter "none", or a missing secret)."""

    code = "his_not_configured"

    def default_message(self) -> str:
        return _("This hospital has not connected its hospital system yet.")


class HisRefused(HisError):
    """The HIS answered and said no (4xx with a code): nothing happened."""

    code = "his_refused"
    status = 409
    NOT_FOUND_CODES = frozenset(
        {"patient_not_found", "prescription_not_found", "settlement_not_found", "report_not_found"}
    )

    def __init__(self, message: str | None = None, *, code: str | None = None, his_message: str = ""):
        super().__init__(message, code=code, his_message=his_message)
        if self.code in self.NOT_FOUND_CODES:
            self.status = 404

    def default_message(self) -> str:
        messages = {
            "settlement_failed": _("The hospital system could not settle this prescription."),
            "prescription_not_found": _("The prescription was not found in the hospital system."),
            "patient_not_found": _("The patient was not found in the hospital system."),
            "patient_ambiguous": _("More than one patient record matches; please give more details."),
            "not_mergeable": _("This prescription must be paid on its own."),
            "pre_settlement_invalid": _("The price check has expired; please start the payment again."),
            "amount_mismatch": _("The amount no longer matches the hospital's bill; please start the payment again."),
            "settlement_not_found": _("No such settlement was found in the hospital system."),
            "report_not_found": _("The report was not found in the hospital system."),
        }
        message = messages.get(self.code)
        return str(message) if message else _("The hospital system refused the request.")


class AlreadySettled(HisRefused):
    code = "already_settled"

    def default_message(self) -> str:
        return _("This prescription has already been paid.")


def refusal(*, code: str, his_message: str = "") -> HisRefused:
    """The exception for a refusal code of the protocol (AlreadySettled for "already_settled")."""
    if code == AlreadySettled.code:
        return AlreadySettled(his_message=his_message)
    return HisRefused(code=code, his_message=his_message)


class HisAdapter(abc.ABC):
    """One hospital's HIS. Every method may raise HisUnavailable or HisRefused."""

    @abc.abstractmethod
    def find_patient(
        self,
        *,
        id_number: str | None = None,
        medical_card_number: str | None = None,
        name: str | None = None,
        phone: str | None = None,
    ) -> HisPatient | None:
        """The one patient matching every given field; None when none does (HisRefused if several do)."""

    @abc.abstractmethod
    def patient(self, *, his_patient_id: str) -> HisPatient | None:
        """The patient with this HIS id (e.g. the one a printed code's prescription belongs to), or None."""

    @abc.abstractmethod
    def unpaid_prescriptions(self, *, his_patient_id: str) -> list[Prescription]:
        """Everything the HIS still expects the patient to pay, oldest first (pay-later bills included)."""

    @abc.abstractmethod
    def pay_later_unpaid(self, *, issued_before: datetime) -> list[Prescription]:
        """Every patient's unpaid "treat first, pay later" bill created before then, oldest first (reminders)."""

    @abc.abstractmethod
    def prescription_by_code(self, *, pay_code: str) -> Prescription | None:
        """The unpaid prescription printed with this code; None if unknown, AlreadySettled if paid."""

    @abc.abstractmethod
    def pre_settle(self, *, his_patient_id: str, numbers: list[str], insurance: bool) -> PreSettlement:
        """Split the prescriptions into insurance and self-pay shares; nothing is paid yet."""

    @abc.abstractmethod
    def settle(
        self,
        *,
        his_patient_id: str,
        number: str,
        pre_settle_id: str,
        payment_reference: str,
        self_pay_amount: Decimal,
    ) -> Settlement:
        """Mark one prescription paid by our payment; the same (number, reference) again returns the same receipt."""

    @abc.abstractmethod
    def cancel_settlement(self, *, number: str, payment_reference: str) -> None:
        """Undo our settlement of a prescription (before refunding it): it becomes unpaid again."""

    @abc.abstractmethod
    def settlement_status(self, *, number: str, payment_reference: str) -> Settlement | None:
        """The settlement of this prescription by this payment, or None: the question to ask after a timeout."""

    @abc.abstractmethod
    def paid_prescriptions(self, *, his_patient_id: str) -> list[PaidPrescription]:
        """The patient's paid prescriptions with their receipts, newest settlement first."""

    @abc.abstractmethod
    def doctor_schedules(self, *, start: date, end: date) -> list[HisScheduleSlot]:
        """Every doctor's slots dated from `start` to `end` (both included), by date, start time and doctor."""

    @abc.abstractmethod
    def checkup_reports(self, *, his_patient_id: str) -> list[HisCheckupReport]:
        """The patient's ready checkup reports, newest first."""

    @abc.abstractmethod
    def exam_results(self, *, his_patient_id: str) -> list[HisExamResult]:
        """The patient's ready examination results, newest first."""

    @abc.abstractmethod
    def reports_since(self, *, since: datetime) -> HisNewReports:
        """Every patient's reports and results that became ready or were changed (`updated_at`) at or
        after `since`, oldest change first."""

    @abc.abstractmethod
    def report_pdf(self, *, report_number: str) -> bytes:
        """The PDF of a checkup report (HisRefused "report_not_found" when it has none)."""


def adapter_for(hospital: Hospital) -> HisAdapter:
    """The adapter the hospital's configuration names (integrations.his); HisNotConfigured for "none"."""
    from hcm.his.http import adapter_from_config

    return adapter_from_config(hospital_code=hospital.code, config=hospital.settings.integrations.his)

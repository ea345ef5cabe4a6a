"""The fake HIS's data: patients, prescriptions and settlements per hospital, in memory.

It behaves like a HIS where it matters to us: a prescription is settled at most once,
settling again with the same payment reference returns the same receipt, a settlement can
be cancelled, insured patients get an insurance share. Every operation holds one lock, so
the threaded server can serve concurrent requests (and concurrent settles of one
prescription) without double payments.

Seed documents (`fixtures/<code>/his.json`) have this shape; amounts are strings:

    {"hospital": "ptdemo",               (default: the folder's name)
     "patients": [{"his_patient_id", "name", "medical_card_number", "phone", "id_number",
                   "insured": bool,
                   "prescriptions": [{"number", "kind", "department", "doctor",
                                      "created_at": ISO | "created_ago": "3h" / "2d" / "1d2h",
                                      "pay_later", "mergeable" (default true),
                                      "pay_code" (default the number),
                                      "items": [{"name", "quantity", "unit", "unit_price", "amount"?}],
                                      "amount"? (checked against the items),
                                      "settlement"?: {"receipt_number", "payment_reference"?,
                                                      "settled_at" | "settled_ago",
                                                      "insurance_amount"?}}],
                   "checkup_reports": [...], "exam_results": [...]}],   (see hcm.his.fake_reports)
     "schedules": [...]}                                                 (see hcm.his.fake_schedules)
"""

import copy
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from hcm.his import wire
from hcm.his.contract import (
    HisCheckupReport,
    HisExamResult,
    HisPatient,
    HisScheduleSlot,
    PaidPrescription,
    Prescription,
    PrescriptionKind,
    PreSettlement,
    PreSettlementLine,
    Settlement,
)
from hcm.his.fake_common import FakeRefusal
from hcm.his.fake_common import when as _when
from hcm.his.fake_reports import ReportShelf
from hcm.his.fake_schedules import Rota, ScheduleShelf

HIS_TIME_ZONE = ZoneInfo("Asia/Shanghai")
INSURANCE_RATES = {
    PrescriptionKind.WESTERN_MEDICINE: Decimal("0.70"),
    PrescriptionKind.CHINESE_MEDICINE: Decimal("0.70"),
    PrescriptionKind.TREATMENT: Decimal("0.50"),
}


def now_in_china() -> datetime:
    return datetime.now(HIS_TIME_ZONE).replace(microsecond=0)


def load_seed(path: str | Path) -> dict:
    """A seed document from a file; its hospital defaults to the name of the file's folder."""
    path = Path(path)
    document = json.loads(path.read_text(encoding="utf-8"))
    document.setdefault("hospital", path.parent.name)
    return document


def insurance_share(kind: PrescriptionKind, amount: Decimal) -> Decimal:
    """The insurance part of an insured patient's bill, rounded half up to the cent."""
    return (amount * INSURANCE_RATES[kind]).quantize(wire.CENT, rounding=ROUND_HALF_UP)


@dataclass
class _HospitalData:
    patients: dict[str, HisPatient] = field(default_factory=dict)
    prescriptions: dict[str, Prescription] = field(default_factory=dict)  # by number
    settlements: dict[str, Settlement] = field(default_factory=dict)  # by number: the one in force
    cancelled: set[tuple[str, str]] = field(default_factory=set)  # (number, payment_reference)
    pre_settlements: dict[str, PreSettlement] = field(default_factory=dict)
    checkup_reports: dict[str, HisCheckupReport] = field(default_factory=dict)  # by report number
    exam_results: dict[str, HisExamResult] = field(default_factory=dict)  # by result number
    rotas: list[Rota] = field(default_factory=list)
    slots: dict[str, HisScheduleSlot] = field(default_factory=dict)  # dated slots by id


class FakeHisStore(ScheduleShelf, ReportShelf):
    def __init__(self, seeds: Iterable[dict] = (), *, clock: Callable[[], datetime] = now_in_china):
        self.seeds = list(seeds)
        self.clock = clock
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Back to the seed documents: every settlement made since is forgotten."""
        with self._lock:
            self._hospitals: dict[str, _HospitalData] = {}
            self._counters = {"PS": 0, "R": 0}  # pre-settlement ids, receipt numbers
            for document in self.seeds:
                self.load(document)

    def checkpoint(self) -> object:
        """The data as it is now, for `restore` (a test that starts every case from the same HIS)."""
        with self._lock:
            return copy.deepcopy((self._hospitals, self._counters))

    def restore(self, checkpoint: object) -> None:
        with self._lock:
            self._hospitals, self._counters = copy.deepcopy(checkpoint)

    def load(self, document: dict, *, hospital: str | None = None) -> list[str]:
        """Add a seed document's patients (and their prescriptions); the patients' ids."""
        code = hospital or document.get("hospital")
        if not isinstance(code, str) or not code:
            raise ValueError("hospital: expected the hospital's code")
        with self._lock:
            self.add_schedules(code, document.get("schedules", []))
            return [self._add_patient(code, entry) for entry in document.get("patients", [])]

    def add_prescriptions(self, hospital: str, his_patient_id: str, entries: list[dict]) -> list[str]:
        with self._lock:
            data = self._known(hospital)
            if his_patient_id not in data.patients:
                raise ValueError(f"his_patient_id: no patient {his_patient_id!r} at {hospital}")
            return [self._add_prescription(data, his_patient_id, entry) for entry in entries]

    # --- what the protocol asks -------------------------------------------------------------

    def search_patients(self, hospital: str, criteria: dict[str, str]) -> list[HisPatient]:
        wanted = {key: value.strip().upper() for key, value in criteria.items()}
        with self._lock:
            patients = self._known(hospital).patients.values()
            return [p for p in patients if all(getattr(p, key).upper() == value for key, value in wanted.items())]

    def patient(self, hospital: str, his_patient_id: str) -> HisPatient:
        with self._lock:
            return self._patient_data(hospital, his_patient_id).patients[his_patient_id]

    def unpaid_everyone(
        self, hospital: str, *, pay_later: bool | None, created_before: datetime | None
    ) -> list[Prescription]:
        """Unpaid prescriptions of all patients, oldest first, optionally only pay-later / older ones."""
        with self._lock:
            data = self._known(hospital)
            unpaid = [
                p
                for p in data.prescriptions.values()
                if p.number not in data.settlements
                and (pay_later is None or p.pay_later == pay_later)
                and (created_before is None or p.created_at < created_before)
            ]
            return sorted(unpaid, key=lambda p: (p.created_at, p.number))

    def unpaid(self, hospital: str, his_patient_id: str) -> list[Prescription]:
        with self._lock:
            data = self._patient_data(hospital, his_patient_id)
            mine = [p for p in data.prescriptions.values() if p.his_patient_id == his_patient_id]
            unpaid = [p for p in mine if p.number not in data.settlements]
            return sorted(unpaid, key=lambda p: (p.created_at, p.number))

    def paid(self, hospital: str, his_patient_id: str) -> list[PaidPrescription]:
        with self._lock:
            data = self._patient_data(hospital, his_patient_id)
            paid = [
                PaidPrescription(prescription=p, settlement=data.settlements[p.number])
                for p in data.prescriptions.values()
                if p.his_patient_id == his_patient_id and p.number in data.settlements
            ]
            return sorted(paid, key=lambda paid: (paid.settled_at, paid.prescription.number), reverse=True)

    def by_code(self, hospital: str, pay_code: str) -> Prescription:
        with self._lock:
            data = self._known(hospital)
            found = next((p for p in data.prescriptions.values() if p.pay_code == pay_code), None)
            if found is None:
                raise FakeRefusal(404, "prescription_not_found", "处方不存在")
            if found.number in data.settlements:
                raise FakeRefusal(409, "already_settled", "处方已结算")
            return found

    def pre_settle(self, hospital: str, his_patient_id: str, numbers: list[str], insurance: bool) -> PreSettlement:
        with self._lock:
            data = self._patient_data(hospital, his_patient_id)
            if not numbers or len(set(numbers)) != len(numbers):
                raise FakeRefusal(400, "invalid_request", "处方号为空或重复")
            prescriptions = [self._unpaid_of(data, his_patient_id, number) for number in numbers]
            if len(prescriptions) > 1 and not all(p.mergeable for p in prescriptions):
                raise FakeRefusal(409, "not_mergeable", "含不可合并结算的处方")
            insured = insurance and data.patients[his_patient_id].insured
            lines = tuple(_line(p, insured=insured) for p in prescriptions)
            pre = PreSettlement(
                pre_settle_id=self._next("PS"),
                his_patient_id=his_patient_id,
                insurance=insured,
                lines=lines,
                amount=sum((line.amount for line in lines), Decimal("0.00")),
                insurance_amount=sum((line.insurance_amount for line in lines), Decimal("0.00")),
                self_pay_amount=sum((line.self_pay_amount for line in lines), Decimal("0.00")),
            )
            data.pre_settlements[pre.pre_settle_id] = pre
            return pre

    def settlement(self, hospital: str, number: str, payment_reference: str) -> Settlement | None:
        """The settlement in force of this prescription by this payment, if any."""
        with self._lock:
            data = self._known(hospital)
            if number not in data.prescriptions:
                raise FakeRefusal(404, "prescription_not_found", "处方不存在")
            settlement = data.settlements.get(number)
            return settlement if settlement and settlement.payment_reference == payment_reference else None

    def settle(
        self,
        hospital: str,
        *,
        his_patient_id: str,
        number: str,
        pre_settle_id: str,
        payment_reference: str,
        self_pay_amount: Decimal,
    ) -> Settlement:
        """Settle once; the same (number, payment_reference) again returns the first receipt."""
        with self._lock:
            data = self._patient_data(hospital, his_patient_id)
            prescription = data.prescriptions.get(number)
            if prescription is None or prescription.his_patient_id != his_patient_id:
                raise FakeRefusal(404, "prescription_not_found", "处方不存在")
            done = data.settlements.get(number)
            if done is not None:
                if done.payment_reference == payment_reference:
                    return done
                raise FakeRefusal(409, "already_settled", "处方已结算")
            line = self._pre_settled_line(data, pre_settle_id, his_patient_id, number)
            if line.self_pay_amount != self_pay_amount:
                raise FakeRefusal(409, "amount_mismatch", f"自付金额应为 {wire.money_text(line.self_pay_amount)}")
            settlement = Settlement(
                number=number,
                payment_reference=payment_reference,
                receipt_number=self._next("R"),
                settled_at=self.clock(),
                amount=line.amount,
                insurance_amount=line.insurance_amount,
                self_pay_amount=line.self_pay_amount,
            )
            data.settlements[number] = settlement
            data.cancelled.discard((number, payment_reference))
            return settlement

    def cancel(self, hospital: str, number: str, payment_reference: str) -> None:
        """Undo a settlement (idempotent): the prescription is unpaid again."""
        with self._lock:
            data = self._known(hospital)
            if number not in data.prescriptions:
                raise FakeRefusal(404, "prescription_not_found", "处方不存在")
            if (number, payment_reference) in data.cancelled:
                return
            settlement = data.settlements.get(number)
            if settlement is None or settlement.payment_reference != payment_reference:
                raise FakeRefusal(404, "settlement_not_found", "无此结算记录")
            del data.settlements[number]
            data.cancelled.add((number, payment_reference))

    def snapshot(self) -> dict:
        """Everything, as JSON, for GET /_control/state."""
        with self._lock:
            return {code: _snapshot(data) for code, data in self._hospitals.items()}

    # --- helpers ----------------------------------------------------------------------------

    def _next(self, prefix: str) -> str:
        self._counters[prefix] += 1
        return f"{prefix}{self._counters[prefix]:08d}"

    def _hospital_data(self, hospital: str) -> _HospitalData:
        return self._hospitals.setdefault(hospital, _HospitalData())

    def _known(self, hospital: str) -> _HospitalData:
        data = self._hospitals.get(hospital)
        if data is None:
            raise FakeRefusal(404, "unknown_hospital", f"未知医院 {hospital}")
        return data

    def _patient_data(self, hospital: str, his_patient_id: str) -> _HospitalData:
        data = self._known(hospital)
        if his_patient_id not in data.patients:
            raise FakeRefusal(404, "patient_not_found", "患者不存在")
        return data

    def _unpaid_of(self, data: _HospitalData, his_patient_id: str, number: str) -> Prescription:
        prescription = data.prescriptions.get(number)
        if prescription is None or prescription.his_patient_id != his_patient_id:
            raise FakeRefusal(404, "prescription_not_found", f"处方 {number} 不存在")
        if number in data.settlements:
            raise FakeRefusal(409, "already_settled", f"处方 {number} 已结算")
        return prescription

    def _pre_settled_line(self, data: _HospitalData, pre_settle_id: str, his_patient_id: str, number: str):
        pre = data.pre_settlements.get(pre_settle_id)
        line = next((line for line in pre.lines if line.number == number), None) if pre else None
        if pre is None or pre.his_patient_id != his_patient_id or line is None:
            raise FakeRefusal(409, "pre_settlement_invalid", "预结算不存在或不含该处方")
        return line

    def _add_patient(self, hospital: str, entry: dict) -> str:
        data = self._hospital_data(hospital)
        patient = wire.patient_from_wire(entry)
        data.patients[patient.his_patient_id] = patient
        for prescription in entry.get("prescriptions", []):
            self._add_prescription(data, patient.his_patient_id, prescription)
        self._add_reports(data, patient, entry)
        return patient.his_patient_id

    def _add_prescription(self, data: _HospitalData, his_patient_id: str, entry: dict) -> str:
        now = self.clock()
        patient = data.patients[his_patient_id]
        prescription = _seed_prescription(entry, patient=patient, now=now)
        if prescription.number in data.prescriptions:
            raise ValueError(f"number: prescription {prescription.number} exists already")
        data.prescriptions[prescription.number] = prescription
        if entry.get("settlement"):
            data.settlements[prescription.number] = _seed_settlement(entry["settlement"], prescription, now=now)
        return prescription.number


def _line(prescription: Prescription, *, insured: bool) -> PreSettlementLine:
    insurance = insurance_share(prescription.kind, prescription.amount) if insured else Decimal("0.00")
    return PreSettlementLine(
        number=prescription.number,
        amount=prescription.amount,
        insurance_amount=insurance,
        self_pay_amount=prescription.amount - insurance,
    )


def _seed_prescription(entry: dict, *, patient: HisPatient, now: datetime) -> Prescription:
    items = []
    for item in entry.get("items", []):
        price, count = wire.money(item.get("unit_price"), field="unit_price"), wire.quantity(item.get("quantity"))
        amount = item.get("amount") or wire.money_text((price * count).quantize(wire.CENT, rounding=ROUND_HALF_UP))
        items.append(wire.item_from_wire({**item, "amount": amount}))
    total = wire.money_text(sum((item.amount for item in items), Decimal("0.00")))
    if entry.get("amount", total) != total:
        raise ValueError(f"amount: prescription {entry.get('number')} says {entry['amount']}, its items {total}")
    return wire.prescription_from_wire(
        {
            "mergeable": True,
            "pay_code": entry.get("number"),
            **entry,
            "his_patient_id": patient.his_patient_id,
            "medical_card_number": patient.medical_card_number,
            "items": [wire.item_to_wire(item) for item in items],
            "amount": total,
            "created_at": _when(entry, "created", now=now),
        }
    )


def _seed_settlement(entry: dict, prescription: Prescription, *, now: datetime) -> Settlement:
    insurance = wire.money(entry.get("insurance_amount", "0.00"), field="insurance_amount")
    return wire.settlement_from_wire(
        {
            "number": prescription.number,
            "payment_reference": entry.get("payment_reference", "HIS-WINDOW"),  # paid at the cashier's window
            "receipt_number": entry.get("receipt_number"),
            "settled_at": _when(entry, "settled", now=now),
            "amount": wire.money_text(prescription.amount),
            "insurance_amount": wire.money_text(insurance),
            "self_pay_amount": wire.money_text(prescription.amount - insurance),
        }
    )


def _snapshot(data: _HospitalData) -> dict:
    return {
        "patients": [wire.patient_to_wire(patient) for patient in data.patients.values()],
        "prescriptions": [
            {**wire.prescription_to_wire(p), "settlement": _maybe(data.settlements.get(p.number))}
            for p in data.prescriptions.values()
        ],
        "pre_settlements": [wire.pre_settlement_to_wire(pre) for pre in data.pre_settlements.values()],
        "checkup_reports": sorted(data.checkup_reports),
        "exam_results": sorted(data.exam_results),
    }


def _maybe(settlement: Settlement | None) -> dict | None:
    return wire.settlement_to_wire(settlement) if settlement else None

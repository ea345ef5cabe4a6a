"""The JSON shapes of the HIS protocol, both ways: contract values <-> JSON-ready dicts.

Money travels as strings with two decimals ("12.50") so no float ever touches it;
datetimes as ISO 8601 with their offset. The HTTP adapter decodes, the fake HIS encodes:
keeping both directions in one module keeps the two sides of the protocol in step.
"""

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from hcm.his.contract import (
    HisPatient,
    PaidPrescription,
    Prescription,
    PrescriptionItem,
    PrescriptionKind,
    PreSettlement,
    PreSettlementLine,
    Settlement,
)

CENT = Decimal("0.01")
_MONEY = re.compile(r"^\d{1,10}(\.\d{1,2})?$")
_QUANTITY = re.compile(r"^\d{1,8}(\.\d{1,4})?$")


class WireError(ValueError):
    """A JSON document that does not have the protocol's shape."""


def money_text(value: Decimal) -> str:
    return f"{value.quantize(CENT):f}"


def money(value: Any, *, field: str = "amount") -> Decimal:
    """A non-negative amount written as a string with at most two decimals."""
    if not isinstance(value, str) or not _MONEY.match(value):
        raise WireError(f'{field}: expected an amount such as "12.50", got {value!r}')
    return Decimal(value).quantize(CENT)


def quantity(value: Any) -> Decimal:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _QUANTITY.match(text):
        raise WireError(f'quantity: expected a number such as "2" or "0.5", got {value!r}')
    return Decimal(text)


def aware_datetime(value: Any, *, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise WireError(f"{field}: expected an ISO 8601 datetime, got {value!r}") from None
    if parsed.tzinfo is None:
        raise WireError(f"{field}: expected a datetime with its UTC offset, got {value!r}")
    return parsed


def _text(data: dict, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise WireError(f"{key}: expected a string, got {value!r}")
    return value


def _flag(data: dict, key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise WireError(f"{key}: expected true or false, got {value!r}")
    return value


def _object(value: Any, *, field: str) -> dict:
    if not isinstance(value, dict):
        raise WireError(f"{field}: expected an object, got {type(value).__name__}")
    return value


def _list(value: Any, *, field: str) -> list:
    if not isinstance(value, list):
        raise WireError(f"{field}: expected a list, got {type(value).__name__}")
    return value


# --- patients ---------------------------------------------------------------------------


def patient_to_wire(patient: HisPatient) -> dict:
    return {
        "his_patient_id": patient.his_patient_id,
        "name": patient.name,
        "medical_card_number": patient.medical_card_number,
        "phone": patient.phone,
        "id_number": patient.id_number,
        "insured": patient.insured,
    }


def patient_from_wire(data: Any) -> HisPatient:
    data = _object(data, field="patient")
    return HisPatient(
        his_patient_id=_text(data, "his_patient_id"),
        name=_text(data, "name"),
        medical_card_number=_text(data, "medical_card_number"),
        phone=_text(data, "phone"),
        id_number=_text(data, "id_number"),
        insured=_flag(data, "insured"),
    )


# --- prescriptions ----------------------------------------------------------------------


def item_to_wire(item: PrescriptionItem) -> dict:
    return {
        "name": item.name,
        "quantity": f"{item.quantity:f}",
        "unit": item.unit,
        "unit_price": money_text(item.unit_price),
        "amount": money_text(item.amount),
    }


def item_from_wire(data: Any) -> PrescriptionItem:
    data = _object(data, field="item")
    return PrescriptionItem(
        name=_text(data, "name"),
        quantity=quantity(data.get("quantity")),
        unit=_text(data, "unit"),
        unit_price=money(data.get("unit_price"), field="unit_price"),
        amount=money(data.get("amount")),
    )


def prescription_to_wire(prescription: Prescription) -> dict:
    return {
        "number": prescription.number,
        "his_patient_id": prescription.his_patient_id,
        "medical_card_number": prescription.medical_card_number,
        "kind": prescription.kind.value,
        "department": prescription.department,
        "doctor": prescription.doctor,
        "items": [item_to_wire(item) for item in prescription.items],
        "amount": money_text(prescription.amount),
        "created_at": prescription.created_at.isoformat(),
        "pay_later": prescription.pay_later,
        "mergeable": prescription.mergeable,
        "pay_code": prescription.pay_code,
    }


def prescription_from_wire(data: Any) -> Prescription:
    data = _object(data, field="prescription")
    kind = data.get("kind")
    if kind not in PrescriptionKind.values:
        raise WireError(f"kind: expected one of {', '.join(PrescriptionKind.values)}, got {kind!r}")
    return Prescription(
        number=_text(data, "number"),
        his_patient_id=_text(data, "his_patient_id"),
        medical_card_number=_text(data, "medical_card_number"),
        kind=PrescriptionKind(kind),
        department=_text(data, "department"),
        doctor=_text(data, "doctor"),
        items=tuple(item_from_wire(item) for item in _list(data.get("items"), field="items")),
        amount=money(data.get("amount")),
        created_at=aware_datetime(data.get("created_at"), field="created_at"),
        pay_later=_flag(data, "pay_later"),
        mergeable=_flag(data, "mergeable"),
        pay_code=_text(data, "pay_code"),
    )


# --- settlements ------------------------------------------------------------------------


def _line_to_wire(line: PreSettlementLine) -> dict:
    return {
        "number": line.number,
        "amount": money_text(line.amount),
        "insurance_amount": money_text(line.insurance_amount),
        "self_pay_amount": money_text(line.self_pay_amount),
    }


def _line_from_wire(data: Any) -> PreSettlementLine:
    data = _object(data, field="line")
    return PreSettlementLine(
        number=_text(data, "number"),
        amount=money(data.get("amount")),
        insurance_amount=money(data.get("insurance_amount"), field="insurance_amount"),
        self_pay_amount=money(data.get("self_pay_amount"), field="self_pay_amount"),
    )


def pre_settlement_to_wire(pre: PreSettlement) -> dict:
    return {
        "pre_settle_id": pre.pre_settle_id,
        "his_patient_id": pre.his_patient_id,
        "insurance": pre.insurance,
        "lines": [_line_to_wire(line) for line in pre.lines],
        "amount": money_text(pre.amount),
        "insurance_amount": money_text(pre.insurance_amount),
        "self_pay_amount": money_text(pre.self_pay_amount),
    }


def pre_settlement_from_wire(data: Any) -> PreSettlement:
    data = _object(data, field="pre_settlement")
    return PreSettlement(
        pre_settle_id=_text(data, "pre_settle_id"),
        his_patient_id=_text(data, "his_patient_id"),
        insurance=_flag(data, "insurance"),
        lines=tuple(_line_from_wire(line) for line in _list(data.get("lines"), field="lines")),
        amount=money(data.get("amount")),
        insurance_amount=money(data.get("insurance_amount"), field="insurance_amount"),
        self_pay_amount=money(data.get("self_pay_amount"), field="self_pay_amount"),
    )


def settlement_to_wire(settlement: Settlement) -> dict:
    return {
        "number": settlement.number,
        "payment_reference": settlement.payment_reference,
        "receipt_number": settlement.receipt_number,
        "settled_at": settlement.settled_at.isoformat(),
        "amount": money_text(settlement.amount),
        "insurance_amount": money_text(settlement.insurance_amount),
        "self_pay_amount": money_text(settlement.self_pay_amount),
    }


def settlement_from_wire(data: Any) -> Settlement:
    data = _object(data, field="settlement")
    return Settlement(
        number=_text(data, "number"),
        payment_reference=_text(data, "payment_reference"),
        receipt_number=_text(data, "receipt_number"),
        settled_at=aware_datetime(data.get("settled_at"), field="settled_at"),
        amount=money(data.get("amount")),
        insurance_amount=money(data.get("insurance_amount"), field="insurance_amount"),
        self_pay_amount=money(data.get("self_pay_amount"), field="self_pay_amount"),
    )


def paid_to_wire(paid: PaidPrescription) -> dict:
    return {**prescription_to_wire(paid.prescription), "settlement": settlement_to_wire(paid.settlement)}


def paid_from_wire(data: Any) -> PaidPrescription:
    data = _object(data, field="prescription")
    return PaidPrescription(
        prescription=prescription_from_wire(data), settlement=settlement_from_wire(data.get("settlement"))
    )


def field(body: Any, key: str) -> Any:
    """body[key] of an answer that must be an object."""
    return _object(body, field="answer").get(key)


def decode_list(body: Any, key: str, decode) -> list:
    return [decode(entry) for entry in _list(field(body, key), field=key)]

"""The real HTTP adapter against the fake HIS over loopback: reads, pre-settlement, settlement."""

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal

import pytest

from hcm.his.contract import (
    AlreadySettled,
    HisPatient,
    HisRefused,
    PrescriptionItem,
    PrescriptionKind,
    PreSettlementLine,
)
from tests.his.conftest import CHINA, NOW, settle_one

ZHANG_SAN = HisPatient(
    his_patient_id="P1",
    name="张三",
    medical_card_number="M001",
    phone="13800000001",
    id_number="11010119900101123X",
    insured=True,
)


def test_find_patient_by_any_identifying_fields(his, fake_his):
    assert his.find_patient(id_number="11010119900101123x") == ZHANG_SAN
    assert his.find_patient(medical_card_number="M001") == ZHANG_SAN
    assert his.find_patient(name="张三", phone="13800000001") == ZHANG_SAN
    assert his.find_patient(name="张三", phone="13800000002") is None
    assert fake_his.requests[0] == "POST /patients/search"  # ID numbers never travel in a URL


def test_find_patient_matching_several_records_is_refused(his, fake_his):
    fake_his.add_patients(
        hospital="hisa",
        patients=[
            {
                "his_patient_id": "P3",
                "name": "张三",
                "medical_card_number": "M003",
                "phone": "13800000001",
                "id_number": "110101201001011234",
            }
        ],
    )

    with pytest.raises(HisRefused) as refused:
        his.find_patient(phone="13800000001")

    assert refused.value.code == "patient_ambiguous"


def test_patient_by_his_id(his):
    assert his.patient(his_patient_id="P1") == ZHANG_SAN
    assert his.patient(his_patient_id="NOBODY") is None


def test_pay_later_bills_of_every_patient_created_before_a_time(his, fake_his):
    fake_his.add_prescriptions(
        hospital="hisa",
        his_patient_id="P2",
        prescriptions=[
            {
                "number": f"RX2{n}",
                "kind": "treatment",
                "department": "外科",
                "doctor": "赵医生",
                "created_at": created_at,
                "pay_later": True,
                "items": [{"name": "外科换药", "quantity": "1", "unit": "次", "unit_price": "25.00"}],
            }
            for n, created_at in ((2, "2026-02-28T08:00:00+08:00"), (3, "2026-03-01T08:00:00+08:00"))
        ],
    )

    before_today = his.pay_later_unpaid(issued_before=datetime(2026, 3, 1, tzinfo=CHINA))

    assert [(p.number, p.medical_card_number, p.amount) for p in before_today] == [
        ("RX4", "M001", Decimal("180.00")),
        ("RX22", "M002", Decimal("25.00")),
    ]
    settle_one(his, "RX4")
    assert [p.number for p in his.pay_later_unpaid(issued_before=datetime(2026, 3, 2, tzinfo=CHINA))] == [
        "RX22",
        "RX23",
    ]


def test_find_patient_needs_a_field(his):
    with pytest.raises(ValueError):
        his.find_patient()


def test_unpaid_prescriptions_oldest_first_with_decimal_amounts(his):
    unpaid = his.unpaid_prescriptions(his_patient_id="P1")

    assert [p.number for p in unpaid] == ["RX4", "RX1", "RX2", "RX3", "RX5"]
    assert [p.amount for p in unpaid] == [
        Decimal("180.00"),
        Decimal("44.15"),
        Decimal("33.60"),
        Decimal("285.00"),
        Decimal("586.00"),
    ]
    rx1 = unpaid[1]
    assert rx1.kind is PrescriptionKind.WESTERN_MEDICINE
    assert (rx1.department, rx1.doctor, rx1.pay_code) == ("内科", "王医生", "880001")
    assert (rx1.his_patient_id, rx1.medical_card_number) == ("P1", "M001")
    assert rx1.created_at == datetime(2026, 3, 1, 9, 0, tzinfo=CHINA)
    assert rx1.items == (
        PrescriptionItem(
            name="阿莫西林胶囊 0.25g×24粒",
            quantity=Decimal("2"),
            unit="盒",
            unit_price=Decimal("18.60"),
            amount=Decimal("37.20"),
        ),
        PrescriptionItem(
            name="复方甘草片 100片",
            quantity=Decimal("1"),
            unit="瓶",
            unit_price=Decimal("6.95"),
            amount=Decimal("6.95"),
        ),
    )
    assert [(p.kind, p.pay_later, p.mergeable) for p in unpaid] == [
        (PrescriptionKind.TREATMENT, True, True),
        (PrescriptionKind.WESTERN_MEDICINE, False, True),
        (PrescriptionKind.CHINESE_MEDICINE, False, True),
        (PrescriptionKind.TREATMENT, False, True),
        (PrescriptionKind.WESTERN_MEDICINE, False, False),
    ]


def test_unknown_patient_is_refused(his):
    with pytest.raises(HisRefused) as refused:
        his.unpaid_prescriptions(his_patient_id="NOBODY")

    assert (refused.value.code, refused.value.status) == ("patient_not_found", 404)


def test_prescription_by_printed_code(his):
    found = his.prescription_by_code(pay_code="880003")

    assert (found.number, found.his_patient_id, found.amount) == ("RX3", "P1", Decimal("285.00"))
    assert his.prescription_by_code(pay_code="000000") is None
    with pytest.raises(AlreadySettled):
        his.prescription_by_code(pay_code="880009")


def test_pre_settle_without_insurance_is_all_self_pay(his):
    pre = his.pre_settle(his_patient_id="P1", numbers=["RX1", "RX3"], insurance=False)

    assert pre.pre_settle_id == "PS00000001"
    assert pre.insurance is False
    assert pre.lines == (
        PreSettlementLine(
            number="RX1", amount=Decimal("44.15"), insurance_amount=Decimal("0.00"), self_pay_amount=Decimal("44.15")
        ),
        PreSettlementLine(
            number="RX3", amount=Decimal("285.00"), insurance_amount=Decimal("0.00"), self_pay_amount=Decimal("285.00")
        ),
    )
    assert (pre.amount, pre.insurance_amount, pre.self_pay_amount) == (
        Decimal("329.15"),
        Decimal("0.00"),
        Decimal("329.15"),
    )


def test_pre_settle_with_insurance_splits_per_kind_rounding_half_up(his):
    pre = his.pre_settle(his_patient_id="P1", numbers=["RX1", "RX2", "RX3"], insurance=True)

    assert pre.insurance is True
    assert [(line.number, line.insurance_amount, line.self_pay_amount) for line in pre.lines] == [
        ("RX1", Decimal("30.91"), Decimal("13.24")),  # 44.15 x 70% = 30.905: half up, not half even
        ("RX2", Decimal("23.52"), Decimal("10.08")),  # Chinese medicine, 70%
        ("RX3", Decimal("142.50"), Decimal("142.50")),  # treatment, 50%
    ]
    assert (pre.amount, pre.insurance_amount, pre.self_pay_amount) == (
        Decimal("362.75"),
        Decimal("196.93"),
        Decimal("165.82"),
    )


def test_pre_settle_with_insurance_for_an_uninsured_patient_is_all_self_pay(his):
    pre = his.pre_settle(his_patient_id="P2", numbers=["RX21"], insurance=True)

    assert pre.insurance is False
    assert (pre.insurance_amount, pre.self_pay_amount) == (Decimal("0.00"), Decimal("15.50"))


def test_pre_settle_refuses_merging_an_unmergeable_prescription(his):
    with pytest.raises(HisRefused) as refused:
        his.pre_settle(his_patient_id="P1", numbers=["RX1", "RX5"], insurance=False)

    assert refused.value.code == "not_mergeable"
    assert his.pre_settle(his_patient_id="P1", numbers=["RX5"], insurance=False).amount == Decimal("586.00")


def test_settle_returns_the_receipt_and_moves_the_prescription_to_paid(his):
    settlement = settle_one(his, "RX1", insurance=True)

    assert (settlement.number, settlement.payment_reference, settlement.receipt_number) == ("RX1", "PAY-1", "R00000001")
    assert settlement.settled_at == NOW
    assert (settlement.amount, settlement.insurance_amount, settlement.self_pay_amount) == (
        Decimal("44.15"),
        Decimal("30.91"),
        Decimal("13.24"),
    )
    assert [p.number for p in his.unpaid_prescriptions(his_patient_id="P1")] == ["RX4", "RX2", "RX3", "RX5"]
    paid = his.paid_prescriptions(his_patient_id="P1")
    assert [(p.prescription.number, p.receipt_number, p.settled_at) for p in paid] == [
        ("RX1", "R00000001", NOW),
        ("RX9", "SF0009", datetime(2026, 2, 20, 10, 0, tzinfo=CHINA)),
    ]
    assert [(p.insurance_amount, p.self_pay_amount) for p in paid] == [
        (Decimal("30.91"), Decimal("13.24")),
        (Decimal("10.50"), Decimal("4.50")),
    ]


def test_settling_again_with_the_same_reference_returns_the_same_receipt(his, fake_his):
    pre = his.pre_settle(his_patient_id="P1", numbers=["RX2"], insurance=False)
    request = dict(
        his_patient_id="P1",
        number="RX2",
        pre_settle_id=pre.pre_settle_id,
        payment_reference="PAY-1",
        self_pay_amount=Decimal("33.60"),
    )
    first = his.settle(**request)

    again = his.settle(**request)

    assert again == first
    assert first.receipt_number == "R00000001"
    assert fake_his.requests.count("POST /settlements") == 2
    assert [p.prescription.number for p in his.paid_prescriptions(his_patient_id="P1")] == ["RX2", "RX9"]


def test_settling_a_paid_prescription_with_another_reference_is_refused(his, fake_his):
    pre = his.pre_settle(his_patient_id="P1", numbers=["RX2"], insurance=False)
    first = his.settle(
        his_patient_id="P1",
        number="RX2",
        pre_settle_id=pre.pre_settle_id,
        payment_reference="PAY-1",
        self_pay_amount=Decimal("33.60"),
    )

    with pytest.raises(AlreadySettled) as refused:
        his.settle(
            his_patient_id="P1",
            number="RX2",
            pre_settle_id=pre.pre_settle_id,
            payment_reference="PAY-2",
            self_pay_amount=Decimal("33.60"),
        )

    assert refused.value.code == "already_settled"
    assert his.settlement_status(number="RX2", payment_reference="PAY-1") == first
    assert his.settlement_status(number="RX2", payment_reference="PAY-2") is None


def test_settle_refuses_an_amount_other_than_the_pre_settled_one(his):
    pre = his.pre_settle(his_patient_id="P1", numbers=["RX1"], insurance=True)

    with pytest.raises(HisRefused) as refused:
        his.settle(
            his_patient_id="P1",
            number="RX1",
            pre_settle_id=pre.pre_settle_id,
            payment_reference="PAY-1",
            self_pay_amount=Decimal("44.15"),
        )

    assert refused.value.code == "amount_mismatch"
    assert his.settlement_status(number="RX1", payment_reference="PAY-1") is None


def test_settle_refuses_a_prescription_outside_the_pre_settlement(his):
    pre = his.pre_settle(his_patient_id="P1", numbers=["RX1"], insurance=False)

    with pytest.raises(HisRefused) as refused:
        his.settle(
            his_patient_id="P1",
            number="RX2",
            pre_settle_id=pre.pre_settle_id,
            payment_reference="PAY-1",
            self_pay_amount=Decimal("33.60"),
        )

    assert refused.value.code == "pre_settlement_invalid"
    assert [p.number for p in his.unpaid_prescriptions(his_patient_id="P1")] == ["RX4", "RX1", "RX2", "RX3", "RX5"]


def test_cancel_settlement_makes_the_prescription_unpaid_again(his):
    settle_one(his, "RX3")

    his.cancel_settlement(number="RX3", payment_reference="PAY-1")
    his.cancel_settlement(number="RX3", payment_reference="PAY-1")  # a retried cancel changes nothing

    assert his.settlement_status(number="RX3", payment_reference="PAY-1") is None
    assert [p.number for p in his.unpaid_prescriptions(his_patient_id="P1")] == ["RX4", "RX1", "RX2", "RX3", "RX5"]
    assert [p.prescription.number for p in his.paid_prescriptions(his_patient_id="P1")] == ["RX9"]


def test_cancel_of_someone_elses_settlement_is_refused(his):
    settle_one(his, "RX3", reference="PAY-1")

    with pytest.raises(HisRefused) as refused:
        his.cancel_settlement(number="RX3", payment_reference="PAY-OTHER")

    assert refused.value.code == "settlement_not_found"
    assert his.settlement_status(number="RX3", payment_reference="PAY-1").receipt_number == "R00000001"


def test_settlement_status_of_an_unknown_prescription_is_refused(his):
    with pytest.raises(HisRefused) as refused:
        his.settlement_status(number="NOPE", payment_reference="PAY-1")

    assert refused.value.code == "prescription_not_found"


def test_concurrent_settles_of_one_prescription_pay_it_once(his):
    pre = his.pre_settle(his_patient_id="P1", numbers=["RX3"], insurance=False)

    def settle(reference: str):
        try:
            return his.settle(
                his_patient_id="P1",
                number="RX3",
                pre_settle_id=pre.pre_settle_id,
                payment_reference=reference,
                self_pay_amount=Decimal("285.00"),
            )
        except AlreadySettled as refused:
            return refused.code

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(settle, ["PAY-A", "PAY-B"] * 4))

    receipts = {o.receipt_number for o in outcomes if not isinstance(o, str)}
    winner = his.paid_prescriptions(his_patient_id="P1")[0].settlement
    assert receipts == {"R00000001"}
    assert outcomes.count("already_settled") == 4
    assert [o for o in outcomes if not isinstance(o, str)] == [winner] * 4

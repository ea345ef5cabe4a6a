"""What the adapter makes of a HIS that fails: refusals, timeouts, 5xx, retries of reads only."""

import socket
from decimal import Decimal

import pytest

from hcm.his.contract import HisRefused, HisUnavailable
from hcm.his.http import HttpHisAdapter
from tests.his.conftest import make_adapter, settle_one

UNPAID_P1 = ["RX4", "RX1", "RX2", "RX3", "RX5"]


def test_failing_settlement_switch_is_a_refusal_with_its_code(his, fake_his):
    fake_his.control(fail_settle_numbers=["RX1"])

    with pytest.raises(HisRefused) as refused:
        settle_one(his, "RX1")

    assert (refused.value.code, refused.value.status) == ("settlement_failed", 409)
    assert refused.value.his_message == "结算失败：HIS 收费接口返回错误"
    assert his.settlement_status(number="RX1", payment_reference="PAY-1") is None
    assert [p.number for p in his.unpaid_prescriptions(his_patient_id="P1")] == UNPAID_P1


def test_timeout_after_the_his_settled_is_unavailable_and_the_status_says_it_happened(fake_his):
    his = make_adapter(fake_his.base_url, timeout=0.3)
    fake_his.control(timeout_after_settle=["RX2"], slow_seconds=2)

    with pytest.raises(HisUnavailable) as unavailable:
        settle_one(his, "RX2", reference="PAY-7")

    assert unavailable.value.code == "his_unavailable"
    status = his.settlement_status(number="RX2", payment_reference="PAY-7")
    assert (status.number, status.receipt_number, status.self_pay_amount) == ("RX2", "R00000001", Decimal("33.60"))
    pre_settle_id = fake_his.state()["hospitals"]["hisa"]["pre_settlements"][0]["pre_settle_id"]
    again = his.settle(
        his_patient_id="P1",
        number="RX2",
        pre_settle_id=pre_settle_id,
        payment_reference="PAY-7",
        self_pay_amount=Decimal("33.60"),
    )
    assert again == status  # asking again answers at once with the same receipt


def test_timeout_before_the_his_settled_is_unavailable_and_the_status_says_it_did_not(fake_his):
    his = make_adapter(fake_his.base_url, timeout=0.3)
    fake_his.control(timeout_before_settle=["RX2"], slow_seconds=2)

    with pytest.raises(HisUnavailable):
        settle_one(his, "RX2", reference="PAY-7")

    assert his.settlement_status(number="RX2", payment_reference="PAY-7") is None
    assert [p.number for p in his.unpaid_prescriptions(his_patient_id="P1")] == UNPAID_P1


def test_server_error_is_unavailable(his, fake_his):
    fake_his.control(error_rate=1)

    with pytest.raises(HisUnavailable) as unavailable:
        his.pre_settle(his_patient_id="P1", numbers=["RX1"], insurance=False)

    assert unavailable.value.his_message == "POST /settlements/pre: HTTP 500"
    assert fake_his.requests == ["POST /settlements/pre"]


def test_a_read_is_retried_after_a_server_error(his, fake_his):
    fake_his.control(fail_next=1)

    unpaid = his.unpaid_prescriptions(his_patient_id="P1")

    assert [p.number for p in unpaid] == UNPAID_P1
    assert fake_his.requests == ["GET /patients/P1/prescriptions"] * 2


def test_a_read_gives_up_after_the_configured_retries(fake_his):
    his = make_adapter(fake_his.base_url, retries=1)
    fake_his.control(fail_next=5)

    with pytest.raises(HisUnavailable):
        his.find_patient(medical_card_number="M001")

    assert fake_his.requests == ["POST /patients/search"] * 2


def test_a_settlement_is_never_retried(his, fake_his):
    pre = his.pre_settle(his_patient_id="P1", numbers=["RX1"], insurance=False)
    fake_his.control(fail_next=1)

    with pytest.raises(HisUnavailable):
        his.settle(
            his_patient_id="P1",
            number="RX1",
            pre_settle_id=pre.pre_settle_id,
            payment_reference="PAY-1",
            self_pay_amount=Decimal("44.15"),
        )

    assert fake_his.requests.count("POST /settlements") == 1
    assert his.settlement_status(number="RX1", payment_reference="PAY-1") is None


def test_latency_below_the_timeout_only_slows_answers(fake_his):
    his = make_adapter(fake_his.base_url, timeout=2)
    fake_his.control(latency_ms=50)

    assert his.prescription_by_code(pay_code="880001").number == "RX1"


def test_refused_connection_is_unavailable():
    with socket.socket() as probe:  # a port nobody listens on any more
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    his = make_adapter(f"http://127.0.0.1:{port}", retries=0)

    with pytest.raises(HisUnavailable) as unavailable:
        his.unpaid_prescriptions(his_patient_id="P1")

    assert unavailable.value.his_message == "GET /patients/P1/prescriptions: ConnectionError"


class StubTransport:
    """Answers every request with one canned (status, body)."""

    def __init__(self, status: int, body):
        self.answer = (status, body)

    def exchange(self, **request):
        return self.answer


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, {"prescriptions": [{"number": "RX1", "amount": 12.5}]}),  # a float amount, and missing fields
        (200, None),  # not JSON
        (404, None),  # an HTML error page from a proxy: no refusal code
        (429, {"detail": "slow down"}),
    ],
)
def test_an_answer_outside_the_protocol_is_unavailable(status, body):
    his = HttpHisAdapter(hospital_code="hisa", transport=StubTransport(status, body), timeout=1)

    with pytest.raises(HisUnavailable):
        his.unpaid_prescriptions(his_patient_id="P1")

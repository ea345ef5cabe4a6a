"""adapter_for(hospital) from the hospital's configuration, and the errors callers get."""

from decimal import Decimal

import pytest
from django.utils import translation

from hcm.his.contract import (
    AlreadySettled,
    HisNotConfigured,
    HisRefused,
    HisUnavailable,
    adapter_for,
    refusal,
)
from hcm.his.fake import reset_in_process_fake
from hcm.his.http import HttpHisAdapter, RequestsTransport
from tests.conftest import make_hospital


def test_no_his_configured_is_his_not_configured(db):
    hospital = make_hospital("hisa")

    with pytest.raises(HisNotConfigured) as error:
        adapter_for(hospital)

    assert (error.value.code, error.value.status) == ("his_not_configured", 503)
    assert isinstance(error.value, HisUnavailable)


def test_http_adapter_takes_url_timeout_and_retries_from_the_config(db):
    hospital = make_hospital(
        "hisa",
        extra='integrations:\n  his: {adapter: http, base_url: "http://127.0.0.1:9/his", timeout: 8s, retries: 1}\n',
    )

    adapter = adapter_for(hospital)

    assert isinstance(adapter, HttpHisAdapter)
    assert isinstance(adapter.transport, RequestsTransport)
    assert adapter.transport.base_url == "http://127.0.0.1:9/his"
    assert (adapter.timeout, adapter.retries) == ((3.05, 8.0), 1)
    assert adapter.headers == {"X-Hospital": "hisa", "Accept": "application/json"}


def test_the_token_comes_from_the_environment_variable_the_config_names(db, monkeypatch):
    extra = 'integrations:\n  his: {adapter: http, base_url: "http://127.0.0.1:9", token_env: HISA_HIS_TOKEN}\n'
    hospital = make_hospital("hisa", extra=extra)
    monkeypatch.delenv("HISA_HIS_TOKEN", raising=False)

    with pytest.raises(HisNotConfigured):
        adapter_for(hospital)

    monkeypatch.setenv("HISA_HIS_TOKEN", "s3cret")
    assert adapter_for(hospital).headers["Authorization"] == "Bearer s3cret"


def test_fake_adapter_serves_the_demo_seed_in_process(db):
    hospital = make_hospital("ptdemo", extra="integrations:\n  his: {adapter: fake}\n")
    reset_in_process_fake()
    try:
        his = adapter_for(hospital)
        patient = his.find_patient(name="尤小明", id_number="350302198603121094", phone="13805941257")
        pre = his.pre_settle(his_patient_id=patient.his_patient_id, numbers=["CF24100101"], insurance=True)
    finally:
        reset_in_process_fake()

    assert patient.medical_card_number == "P2024001"
    assert (pre.amount, pre.insurance_amount, pre.self_pay_amount) == (
        Decimal("76.50"),
        Decimal("53.55"),
        Decimal("22.95"),
    )


def test_refusal_codes_map_to_their_exception_and_a_message_for_the_patient():
    with translation.override("en"):
        already = refusal(code="already_settled", his_message="处方已结算")
        failed = refusal(code="settlement_failed")
        unknown = refusal(code="something_new")

    assert isinstance(already, AlreadySettled)
    assert (already.code, already.message, already.his_message) == (
        "already_settled",
        "This prescription has already been paid.",
        "处方已结算",
    )
    assert type(failed) is HisRefused
    assert failed.message == "The hospital system could not settle this prescription."
    assert (unknown.code, unknown.message, unknown.status) == (
        "something_new",
        "The hospital system refused the request.",
        409,
    )


def test_unavailable_has_a_message_for_the_patient():
    with translation.override("en"):
        error = HisUnavailable(his_message="GET /x: HTTP 502")

    assert (error.code, error.status, error.message) == (
        "his_unavailable",
        503,
        "The hospital system is temporarily unavailable; please try again later.",
    )

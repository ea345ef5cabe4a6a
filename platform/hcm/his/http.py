"""The HIS over HTTP: the protocol a hospital's HIS (or its gateway) speaks, and our adapter.

Protocol (JSON over HTTP, UTF-8). Every request carries `X-Hospital: <hospital code>` (one
HIS gateway may serve several hospitals) and, when the config names `token_env`,
`Authorization: Bearer <token>`. Money is a string with two decimals ("12.50"), datetimes
ISO 8601 with their offset. Shapes are in `hcm.his.wire` (schedules and reports in
`hcm.his.wire_schedules` and `hcm.his.wire_reports`).

    POST /patients/search                 {id_number?, medical_card_number?, name?, phone?}
                                          -> {"patients": [patient]}   every given field matches
    GET  /patients/<id>                             -> {"patient": patient}
    GET  /patients/<id>/prescriptions?state=unpaid  -> {"prescriptions": [prescription]}
    GET  /patients/<id>/prescriptions?state=paid    -> {"prescriptions": [prescription + "settlement"]}
    GET  /prescriptions?state=unpaid&pay_later=true&created_before=<ISO datetime>
                                                    -> {"prescriptions": [prescription]}   all patients
    GET  /prescriptions/by-code/<pay_code>          -> {"prescription": prescription}
    POST /settlements/pre     {his_patient_id, numbers, insurance}  -> {"pre_settlement": ...}
    POST /settlements         {his_patient_id, number, pre_settle_id, payment_reference,
                               self_pay_amount}                     -> {"settlement": ...}
    POST /settlements/cancel  {number, payment_reference}           -> {"cancelled": true}
    GET  /settlements/<number>?payment_reference=R                  -> {"settlement": ...}
    GET  /schedules?start=<date>&end=<date>         -> {"slots": [slot]}   every doctor, both days included
    GET  /patients/<id>/checkup-reports             -> {"checkup_reports": [checkup_report]}   newest first
    GET  /patients/<id>/exam-results                -> {"exam_results": [exam_result]}         newest first
    GET  /reports?since=<ISO datetime>              -> {"checkup_reports": [...], "exam_results": [...]}
                                                       every patient's, ready or changed (`updated_at`) at
                                                       or after `since`, oldest change first
    GET  /checkup-reports/<number>/pdf              -> {"report_number", "content_type", "pdf_base64"}

Every report carries `updated_at`, when the HIS last changed it (optional; absent means
`reported_at`): a corrected report keeps its number and gets a later `updated_at`, and we never
let an older version overwrite a newer one.

The other way, the HIS may push new or corrected reports as soon as they are ready: the body of
a `GET /reports` answer, POSTed to the platform and signed with HMAC-SHA256 over a timestamp and
the body; each signed push is accepted once (see hcm.reports.push, the README and the OpenAPI
schema of `POST /api/v1/{hospital}/reports/his-push/`).

A refusal is a 4xx with {"code", "message"}: patient_not_found, prescription_not_found,
patient_ambiguous, already_settled, not_mergeable, pre_settlement_invalid, amount_mismatch,
settlement_failed, settlement_not_found, report_not_found, invalid_request. `POST /settlements`
with a (number, payment_reference) already settled answers the same settlement again (200).

Patient search is a POST so ID numbers and phones stay out of URLs and access logs; it is
still a read, and reads are retried (`retries` in the config, short backoff). Writes never
are: a settle that timed out is resolved with `GET /settlements/<number>` instead. Anything
that is not a 2xx or a 4xx with a code (refused connection, timeout, 5xx, an HTML error page,
malformed JSON) is HisUnavailable: the HIS may or may not have acted.
"""

import logging
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter

from hcm.env import env_str
from hcm.his import wire, wire_reports, wire_schedules
from hcm.his.contract import (
    HisAdapter,
    HisCheckupReport,
    HisExamResult,
    HisNewReports,
    HisNotConfigured,
    HisPatient,
    HisRefused,
    HisScheduleSlot,
    HisUnavailable,
    PaidPrescription,
    Prescription,
    PreSettlement,
    Settlement,
    refusal,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")
CONNECT_TIMEOUT_CAP = 3.05  # seconds; a HIS on the hospital network connects fast or not at all
RETRY_BACKOFF = 0.1  # seconds before the first retry of a read, doubled each time


class Transport(Protocol):
    def exchange(
        self,
        *,
        method: str,
        path: str,
        params: dict | None,
        body: dict | None,
        headers: dict,
        timeout: tuple[float, float],
    ) -> tuple[int, Any]:
        """(HTTP status, decoded JSON body or None); HisUnavailable when no answer came back."""


_sessions: dict[str, requests.Session] = {}
_sessions_lock = threading.Lock()


def session_for(base_url: str) -> requests.Session:
    """One pooled Session per HIS base URL, shared by threads.

    urllib3's pool is thread-safe and we never change a session after creating it (headers,
    params and timeouts are per request), so sharing it is safe and reuses connections.
    """
    with _sessions_lock:
        session = _sessions.get(base_url)
        if session is None:
            session = requests.Session()
            pool = HTTPAdapter(pool_maxsize=20, max_retries=0)  # retries are ours, reads only
            session.mount("http://", pool)
            session.mount("https://", pool)
            _sessions[base_url] = session
        return session


def close_sessions() -> None:
    """Close every pooled session (tests, and processes shutting down)."""
    with _sessions_lock:
        for session in _sessions.values():
            session.close()
        _sessions.clear()


class RequestsTransport:
    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")

    def exchange(
        self,
        *,
        method: str,
        path: str,
        params: dict | None,
        body: dict | None,
        headers: dict,
        timeout: tuple[float, float],
    ) -> tuple[int, Any]:
        try:
            response = session_for(self.base_url).request(
                method, self.base_url + path, params=params, json=body, headers=headers, timeout=timeout
            )
        except requests.RequestException as error:
            # Not str(error): it holds the URL, and with it query parameters.
            raise HisUnavailable(his_message=f"{method} {path}: {type(error).__name__}") from None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        return response.status_code, payload


class HttpHisAdapter(HisAdapter):
    """The contract over the protocol above, for one hospital."""

    def __init__(
        self, *, hospital_code: str, transport: Transport, timeout: float, retries: int = 0, token: str | None = None
    ):
        self.hospital_code = hospital_code
        self.transport = transport
        self.timeout = (min(timeout, CONNECT_TIMEOUT_CAP), timeout)
        self.retries = retries
        self.headers = {"X-Hospital": hospital_code, "Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    # --- the contract -----------------------------------------------------------------

    def find_patient(
        self,
        *,
        id_number: str | None = None,
        medical_card_number: str | None = None,
        name: str | None = None,
        phone: str | None = None,
    ) -> HisPatient | None:
        given = {"id_number": id_number, "medical_card_number": medical_card_number, "name": name, "phone": phone}
        criteria = {key: value for key, value in given.items() if value}
        if not criteria:
            raise ValueError("find_patient needs at least one field to match")
        body = self._read("POST", "/patients/search", body=criteria)
        patients = self._decode(lambda: wire.decode_list(body, "patients", wire.patient_from_wire))
        if len(patients) > 1:
            raise HisRefused(code="patient_ambiguous", his_message=f"{len(patients)} patients match")
        return patients[0] if patients else None

    def patient(self, *, his_patient_id: str) -> HisPatient | None:
        body = self._read_or_none("GET", f"/patients/{_segment(his_patient_id)}", missing="patient_not_found")
        if body is None:
            return None
        return self._decode(lambda: wire.patient_from_wire(wire.field(body, "patient")))

    def pay_later_unpaid(self, *, issued_before: datetime) -> list[Prescription]:
        params = {"state": "unpaid", "pay_later": "true", "created_before": issued_before.isoformat()}
        body = self._read("GET", "/prescriptions", params=params)
        return self._decode(lambda: wire.decode_list(body, "prescriptions", wire.prescription_from_wire))

    def unpaid_prescriptions(self, *, his_patient_id: str) -> list[Prescription]:
        body = self._read("GET", f"/patients/{_segment(his_patient_id)}/prescriptions", params={"state": "unpaid"})
        return self._decode(lambda: wire.decode_list(body, "prescriptions", wire.prescription_from_wire))

    def prescription_by_code(self, *, pay_code: str) -> Prescription | None:
        path = f"/prescriptions/by-code/{_segment(pay_code)}"
        body = self._read_or_none("GET", path, missing="prescription_not_found")
        if body is None:
            return None
        return self._decode(lambda: wire.prescription_from_wire(wire.field(body, "prescription")))

    def pre_settle(self, *, his_patient_id: str, numbers: list[str], insurance: bool) -> PreSettlement:
        request = {"his_patient_id": his_patient_id, "numbers": list(numbers), "insurance": insurance}
        body = self._write("/settlements/pre", request)
        return self._decode(lambda: wire.pre_settlement_from_wire(wire.field(body, "pre_settlement")))

    def settle(
        self,
        *,
        his_patient_id: str,
        number: str,
        pre_settle_id: str,
        payment_reference: str,
        self_pay_amount: Decimal,
    ) -> Settlement:
        request = {
            "his_patient_id": his_patient_id,
            "number": number,
            "pre_settle_id": pre_settle_id,
            "payment_reference": payment_reference,
            "self_pay_amount": wire.money_text(self_pay_amount),
        }
        body = self._write("/settlements", request)
        return self._decode(lambda: wire.settlement_from_wire(wire.field(body, "settlement")))

    def cancel_settlement(self, *, number: str, payment_reference: str) -> None:
        self._write("/settlements/cancel", {"number": number, "payment_reference": payment_reference})

    def settlement_status(self, *, number: str, payment_reference: str) -> Settlement | None:
        path, params = f"/settlements/{_segment(number)}", {"payment_reference": payment_reference}
        body = self._read_or_none("GET", path, params=params, missing="settlement_not_found")
        if body is None:
            return None
        return self._decode(lambda: wire.settlement_from_wire(wire.field(body, "settlement")))

    def paid_prescriptions(self, *, his_patient_id: str) -> list[PaidPrescription]:
        body = self._read("GET", f"/patients/{_segment(his_patient_id)}/prescriptions", params={"state": "paid"})
        return self._decode(lambda: wire.decode_list(body, "prescriptions", wire.paid_from_wire))

    def doctor_schedules(self, *, start: date, end: date) -> list[HisScheduleSlot]:
        body = self._read("GET", "/schedules", params={"start": start.isoformat(), "end": end.isoformat()})
        return self._decode(lambda: wire.decode_list(body, "slots", wire_schedules.slot_from_wire))

    def checkup_reports(self, *, his_patient_id: str) -> list[HisCheckupReport]:
        body = self._read("GET", f"/patients/{_segment(his_patient_id)}/checkup-reports")
        return self._decode(lambda: wire.decode_list(body, "checkup_reports", wire_reports.checkup_report_from_wire))

    def exam_results(self, *, his_patient_id: str) -> list[HisExamResult]:
        body = self._read("GET", f"/patients/{_segment(his_patient_id)}/exam-results")
        return self._decode(lambda: wire.decode_list(body, "exam_results", wire_reports.exam_result_from_wire))

    def reports_since(self, *, since: datetime) -> HisNewReports:
        body = self._read("GET", "/reports", params={"since": since.isoformat()})
        return self._decode(lambda: wire_reports.new_reports_from_wire(body))

    def report_pdf(self, *, report_number: str) -> bytes:
        body = self._read("GET", f"/checkup-reports/{_segment(report_number)}/pdf")
        return self._decode(lambda: wire_reports.pdf_from_wire(body))

    # --- the wire ---------------------------------------------------------------------

    def _read(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None) -> Any:
        """A call that changes nothing in the HIS, so trying it again is harmless."""
        for attempt in range(self.retries + 1):
            try:
                return self._call(method, path, params=params, body=body)
            except HisUnavailable:
                if attempt == self.retries:
                    raise
                logger.info("HIS %s: %s %s unavailable, retrying", self.hospital_code, method, path)
                time.sleep(RETRY_BACKOFF * 2**attempt)
        raise AssertionError("unreachable")

    def _read_or_none(self, method: str, path: str, *, missing: str, params: dict | None = None) -> Any:
        """A read whose refusal `missing` means "there is none": None instead of HisRefused."""
        try:
            return self._read(method, path, params=params)
        except HisRefused as refused:
            if refused.code == missing:
                return None
            raise

    def _write(self, path: str, body: dict) -> Any:
        """A call that may change the HIS: sent once, whatever happens."""
        return self._call("POST", path, body=body)

    def _call(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None) -> Any:
        status, payload = self.transport.exchange(
            method=method, path=path, params=params, body=body, headers=self.headers, timeout=self.timeout
        )
        if 200 <= status < 300:
            return payload
        code = payload.get("code") if isinstance(payload, dict) else None
        if 400 <= status < 500 and isinstance(code, str) and code:
            message = payload.get("message")
            raise refusal(code=code, his_message=message if isinstance(message, str) else "")
        logger.warning("HIS %s: %s %s answered %s", self.hospital_code, method, path, status)
        raise HisUnavailable(his_message=f"{method} {path}: HTTP {status}")

    def _decode(self, decode: Callable[[], T]) -> T:
        try:
            return decode()
        except wire.WireError as error:
            logger.error("HIS %s answered in an unexpected shape: %s", self.hospital_code, error)
            raise HisUnavailable(his_message=f"malformed answer: {error}") from None


def _segment(value: str) -> str:
    return quote(value, safe="")


def adapter_from_config(*, hospital_code: str, config) -> HttpHisAdapter:
    """The adapter for a hospital's `integrations.his` section (see hcm.his.contract.adapter_for)."""
    if config.adapter == "none":
        raise HisNotConfigured(his_message="integrations.his.adapter is none")
    token = None
    if config.token_env:
        token = env_str(config.token_env)
        if token is None:
            raise HisNotConfigured(his_message=f"the environment variable {config.token_env} is empty")
    if config.adapter == "fake":
        from hcm.his.fake import in_process_transport

        transport: Transport = in_process_transport()
    else:
        transport = RequestsTransport(config.base_url)
    return HttpHisAdapter(
        hospital_code=hospital_code,
        transport=transport,
        timeout=config.timeout.total_seconds(),
        retries=config.retries,
        token=token,
    )

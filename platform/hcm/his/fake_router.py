"""The fake HIS's protocol handling: requests in, replies out, no socket involved.

The HTTP server (hcm.his.fake) and the in-process transport (config `adapter: fake`) both
call `FakeHisRouter.handle`, so both behave the same. The switches are described in
hcm.his.fake.
"""

import json
import random
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any
from urllib.parse import unquote

from hcm.his import wire, wire_reports, wire_schedules
from hcm.his.fake_store import FakeHisStore, FakeRefusal


@dataclass
class Switches:
    latency_ms: int = 0
    error_rate: float = 0.0
    fail_next: int = 0
    fail_settle_numbers: list[str] = field(default_factory=list)
    timeout_after_settle: list[str] = field(default_factory=list)
    timeout_before_settle: list[str] = field(default_factory=list)
    slow_seconds: float = 3.0

    def update(self, changes: dict) -> None:
        """Apply a partial change from JSON; one bad name or value and nothing changes."""
        checked = {name: self._checked(name, value) for name, value in changes.items()}
        for name, value in checked.items():
            setattr(self, name, value)

    def _checked(self, name: str, value: Any) -> Any:
        expected = {f.name: f.type for f in fields(self)}.get(name)
        if expected is None:
            raise FakeRefusal(400, "invalid_request", f"unknown switch {name!r}")
        if expected == list[str]:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise FakeRefusal(400, "invalid_request", f"{name}: expected a list of prescription numbers")
            return list(value)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise FakeRefusal(400, "invalid_request", f"{name}: expected a number >= 0")
        if name == "error_rate" and value > 1:
            raise FakeRefusal(400, "invalid_request", "error_rate: expected a share between 0 and 1")
        return expected(value)


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict
    delay: float = 0.0  # seconds to wait before answering


def _refused(refusal: FakeRefusal) -> Reply:
    return Reply(refusal.status, {"code": refusal.code, "message": refusal.message})


class FakeHisRouter:
    """One fake HIS: its store, its switches and the log of protocol requests it served."""

    def __init__(self, store: FakeHisStore, switches: Switches | None = None):
        self.store = store
        self.initial_switches = switches or Switches()
        self.switches = Switches(**asdict(self.initial_switches))
        self.requests: deque[str] = deque(maxlen=10_000)  # "POST /settlements", protocol requests only
        self._lock = threading.Lock()
        self._random = random.Random(0)
        self._routes: list[tuple[str, re.Pattern, Callable[..., Reply]]] = [
            ("POST", re.compile(r"^/patients/search$"), self._search),
            ("GET", re.compile(r"^/patients/([^/]+)$"), self._patient),
            ("GET", re.compile(r"^/patients/([^/]+)/prescriptions$"), self._prescriptions),
            ("GET", re.compile(r"^/prescriptions$"), self._all_unpaid),
            ("GET", re.compile(r"^/prescriptions/by-code/([^/]+)$"), self._by_code),
            ("POST", re.compile(r"^/settlements/pre$"), self._pre_settle),
            ("POST", re.compile(r"^/settlements$"), self._settle),
            ("POST", re.compile(r"^/settlements/cancel$"), self._cancel),
            ("GET", re.compile(r"^/settlements/([^/]+)$"), self._status),
            ("GET", re.compile(r"^/schedules$"), self._schedules),
            ("GET", re.compile(r"^/patients/([^/]+)/checkup-reports$"), self._checkup_reports),
            ("GET", re.compile(r"^/patients/([^/]+)/exam-results$"), self._exam_results),
            ("GET", re.compile(r"^/reports$"), self._reports_since),
            ("GET", re.compile(r"^/checkup-reports/([^/]+)/pdf$"), self._report_pdf),
            ("POST", re.compile(r"^/_control$"), self._control),
            ("POST", re.compile(r"^/_control/reset$"), self._reset),
            ("POST", re.compile(r"^/_control/patients$"), self._add_patients),
            ("POST", re.compile(r"^/_control/prescriptions$"), self._add_prescriptions),
            ("POST", re.compile(r"^/_control/reports$"), self._add_reports),
            ("POST", re.compile(r"^/_control/schedules$"), self._add_schedules),
            ("GET", re.compile(r"^/_control/state$"), self._state),
        ]

    def handle(self, *, method: str, path: str, query: dict, hospital: str | None, body: bytes) -> Reply:
        control = path.startswith("/_control")
        if not control:
            with self._lock:
                self.requests.append(f"{method} {path}")
            failure = self._injected_failure()
            if failure is not None:
                return failure
        try:
            reply = self._route(method, path, query, hospital, _json(body))
        except FakeRefusal as refusal:
            reply = _refused(refusal)
        except (ValueError, KeyError, TypeError) as error:  # a malformed request or seed entry
            reply = Reply(400, {"code": "invalid_request", "message": str(error)})
        latency = 0.0 if control else self.switches.latency_ms / 1000
        return Reply(reply.status, reply.body, reply.delay + latency)

    def request_log(self) -> list[str]:
        with self._lock:
            return list(self.requests)

    def _injected_failure(self) -> Reply | None:
        with self._lock:
            failing = self.switches.fail_next > 0 or self._random.random() < self.switches.error_rate
            if self.switches.fail_next > 0:
                self.switches.fail_next -= 1
        if failing:
            return Reply(500, {"code": "internal_error", "message": "HIS 内部错误"}, self.switches.latency_ms / 1000)
        return None

    def _route(self, method: str, path: str, query: dict, hospital: str | None, body: Any) -> Reply:
        for route_method, pattern, view in self._routes:
            match = pattern.match(path)
            if match and route_method == method:
                args = [unquote(group) for group in match.groups()]
                return view(*args, query=query, hospital=hospital, body=body)
        return Reply(404, {"code": "not_found", "message": f"no such endpoint: {method} {path}"})

    # --- the protocol ---------------------------------------------------------------------

    def _search(self, *, query: dict, hospital: str | None, body: Any) -> Reply:
        allowed = {"id_number", "medical_card_number", "name", "phone"}
        criteria = {key: value for key, value in _object(body).items() if key in allowed and value}
        if not criteria or not all(isinstance(value, str) for value in criteria.values()):
            raise FakeRefusal(400, "invalid_request", "至少提供一项查询条件")
        patients = self.store.search_patients(_hospital(hospital), criteria)
        return Reply(200, {"patients": [wire.patient_to_wire(p) for p in patients]})

    def _patient(self, his_patient_id: str, *, query: dict, hospital: str | None, body: Any) -> Reply:
        return Reply(200, {"patient": wire.patient_to_wire(self.store.patient(_hospital(hospital), his_patient_id))})

    def _all_unpaid(self, *, query: dict, hospital: str | None, body: Any) -> Reply:
        if query.get("state", "unpaid") != "unpaid" or query.get("pay_later") not in (None, "true", "false"):
            raise FakeRefusal(400, "invalid_request", "仅支持 state=unpaid, pay_later=true|false")
        pay_later = None if "pay_later" not in query else query["pay_later"] == "true"
        before = query.get("created_before")
        created_before = wire.aware_datetime(before, field="created_before") if before else None
        unpaid = self.store.unpaid_everyone(_hospital(hospital), pay_later=pay_later, created_before=created_before)
        return Reply(200, {"prescriptions": [wire.prescription_to_wire(p) for p in unpaid]})

    def _prescriptions(self, his_patient_id: str, *, query: dict, hospital: str | None, body: Any) -> Reply:
        state = query.get("state", "unpaid")
        if state == "unpaid":
            unpaid = self.store.unpaid(_hospital(hospital), his_patient_id)
            return Reply(200, {"prescriptions": [wire.prescription_to_wire(p) for p in unpaid]})
        if state == "paid":
            paid = self.store.paid(_hospital(hospital), his_patient_id)
            return Reply(200, {"prescriptions": [wire.paid_to_wire(p) for p in paid]})
        raise FakeRefusal(400, "invalid_request", "state 应为 unpaid 或 paid")

    def _by_code(self, pay_code: str, *, query: dict, hospital: str | None, body: Any) -> Reply:
        prescription = self.store.by_code(_hospital(hospital), pay_code)
        return Reply(200, {"prescription": wire.prescription_to_wire(prescription)})

    def _pre_settle(self, *, query: dict, hospital: str | None, body: Any) -> Reply:
        body = _object(body)
        numbers, insurance = body.get("numbers"), body.get("insurance", False)
        if not isinstance(numbers, list) or not isinstance(insurance, bool):
            raise FakeRefusal(400, "invalid_request", "numbers 应为列表, insurance 应为布尔值")
        pre = self.store.pre_settle(_hospital(hospital), _text(body, "his_patient_id"), numbers, insurance)
        return Reply(200, {"pre_settlement": wire.pre_settlement_to_wire(pre)})

    def _settle(self, *, query: dict, hospital: str | None, body: Any) -> Reply:
        body, code = _object(body), _hospital(hospital)
        number, reference = _text(body, "number"), _text(body, "payment_reference")
        replay = self.store.settlement(code, number, reference)
        if replay is not None:  # the caller asks again after losing our answer: same receipt, promptly
            return Reply(200, {"settlement": wire.settlement_to_wire(replay)})
        switches = self.switches
        if number in switches.fail_settle_numbers:
            raise FakeRefusal(422, "settlement_failed", "结算失败：HIS 收费接口返回错误")
        if number in switches.timeout_before_settle:
            return Reply(504, {"code": "timeout", "message": "结算超时"}, switches.slow_seconds)
        settlement = self.store.settle(
            code,
            his_patient_id=_text(body, "his_patient_id"),
            number=number,
            pre_settle_id=_text(body, "pre_settle_id"),
            payment_reference=reference,
            self_pay_amount=wire.money(body.get("self_pay_amount"), field="self_pay_amount"),
        )
        delay = switches.slow_seconds if number in switches.timeout_after_settle else 0.0
        return Reply(200, {"settlement": wire.settlement_to_wire(settlement)}, delay)

    def _cancel(self, *, query: dict, hospital: str | None, body: Any) -> Reply:
        body = _object(body)
        self.store.cancel(_hospital(hospital), _text(body, "number"), _text(body, "payment_reference"))
        return Reply(200, {"cancelled": True})

    def _status(self, number: str, *, query: dict, hospital: str | None, body: Any) -> Reply:
        settlement = self.store.settlement(_hospital(hospital), number, query.get("payment_reference", ""))
        if settlement is None:
            raise FakeRefusal(404, "settlement_not_found", "无此结算记录")
        return Reply(200, {"settlement": wire.settlement_to_wire(settlement)})

    def _schedules(self, *, query: dict, hospital: str | None, body: Any) -> Reply:
        start = wire_schedules.day(query.get("start"), field="start")
        end = wire_schedules.day(query.get("end"), field="end")
        slots = self.store.schedules(_hospital(hospital), start, end)
        return Reply(200, {"slots": [wire_schedules.slot_to_wire(slot) for slot in slots]})

    def _checkup_reports(self, his_patient_id: str, *, query: dict, hospital: str | None, body: Any) -> Reply:
        reports = self.store.checkup_reports(_hospital(hospital), his_patient_id)
        return Reply(200, {"checkup_reports": [wire_reports.checkup_report_to_wire(r) for r in reports]})

    def _exam_results(self, his_patient_id: str, *, query: dict, hospital: str | None, body: Any) -> Reply:
        results = self.store.exam_results(_hospital(hospital), his_patient_id)
        return Reply(200, {"exam_results": [wire_reports.exam_result_to_wire(r) for r in results]})

    def _reports_since(self, *, query: dict, hospital: str | None, body: Any) -> Reply:
        since = wire.aware_datetime(query.get("since"), field="since")
        return Reply(200, wire_reports.new_reports_to_wire(self.store.reports_since(_hospital(hospital), since)))

    def _report_pdf(self, report_number: str, *, query: dict, hospital: str | None, body: Any) -> Reply:
        pdf = self.store.report_pdf(_hospital(hospital), report_number)
        return Reply(200, wire_reports.pdf_to_wire(report_number, pdf))

    # --- control ----------------------------------------------------------------------------

    def _control(self, *, query: dict, hospital: str | None, body: Any) -> Reply:
        with self._lock:
            self.switches.update(_object(body))
            return Reply(200, {"switches": asdict(self.switches)})

    def _reset(self, *, query: dict, hospital: str | None, body: Any) -> Reply:
        with self._lock:
            self.store.reset()
            self.switches = Switches(**asdict(self.initial_switches))
            self.requests.clear()
        return Reply(200, {"reset": True})

    def _add_patients(self, *, query: dict, hospital: str | None, body: Any) -> Reply:
        body = _object(body)
        added = self.store.load(body, hospital=body.get("hospital") or _hospital(hospital))
        return Reply(200, {"added": added})

    def _add_prescriptions(self, *, query: dict, hospital: str | None, body: Any) -> Reply:
        body = _object(body)
        code = body.get("hospital") or _hospital(hospital)
        added = self.store.add_prescriptions(code, _text(body, "his_patient_id"), body.get("prescriptions", []))
        return Reply(200, {"added": added})

    def _add_reports(self, *, query: dict, hospital: str | None, body: Any) -> Reply:
        body = _object(body)
        added = self.store.add_reports(
            body.get("hospital") or _hospital(hospital),
            _text(body, "his_patient_id"),
            checkup_reports=body.get("checkup_reports") or [],
            exam_results=body.get("exam_results") or [],
            revise=body.get("revise") is True,
        )
        return Reply(200, {"added": added})

    def _add_schedules(self, *, query: dict, hospital: str | None, body: Any) -> Reply:
        body = _object(body)
        added = self.store.add_schedules(body.get("hospital") or _hospital(hospital), body.get("schedules"))
        return Reply(200, {"added": added})

    def _state(self, *, query: dict, hospital: str | None, body: Any) -> Reply:
        return Reply(
            200,
            {"switches": asdict(self.switches), "requests": self.request_log(), "hospitals": self.store.snapshot()},
        )


def _json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        raise FakeRefusal(400, "invalid_request", "请求体不是 JSON") from None


def _object(body: Any) -> dict:
    if not isinstance(body, dict):
        raise FakeRefusal(400, "invalid_request", "请求体应为 JSON 对象")
    return body


def _text(body: dict, key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise FakeRefusal(400, "invalid_request", f"缺少 {key}")
    return value


def _hospital(code: str | None) -> str:
    if not code:
        raise FakeRefusal(400, "invalid_request", "缺少 X-Hospital 请求头")
    return code

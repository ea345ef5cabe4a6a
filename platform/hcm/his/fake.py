"""A fake HIS that speaks the real protocol (see hcm.his.http) on loopback, with switches.

Tests and demos run our real HTTP adapter against it, so timeouts, 5xx and refusals travel
the same path as in production. Switches make the HIS misbehave on purpose; they are set
when it starts (`manage.py fake_his --latency-ms 200 ...`) and at run time with
`POST /_control {"fail_settle_numbers": ["RX1"]}`:

    latency_ms              every protocol answer waits this long
    error_rate              this share (0..1) of protocol requests answers 500
    fail_next               the next N protocol requests answer 500 (then it counts down)
    fail_settle_numbers     settling these prescriptions answers 422 "settlement_failed"
    timeout_after_settle    settling these settles, then answers only after slow_seconds
                            (the HIS did it, the caller timed out)
    timeout_before_settle   settling these waits slow_seconds, then answers 504 unsettled
    slow_seconds            how long the two above wait (longer than the client's timeout)

Control endpoints (no switch applies to them): `POST /_control` (switches),
`POST /_control/reset` (reseed, switches back to their start values, request log cleared),
`POST /_control/patients` (a seed document's patients), `POST /_control/prescriptions`
({his_patient_id, prescriptions}), `POST /_control/reports` ({his_patient_id,
checkup_reports, exam_results}: reports becoming ready; with "revise": true, new versions of
existing ones), `POST /_control/schedules`
({schedules}: rotas or dated slots), `GET /_control/state` (switches, request log, data).
The hospital is the X-Hospital header (or "hospital" in a control body).

`running_fake_his(seed=...)` starts one in a background thread for a test.
"""

import ipaddress
import json
import logging
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from hcm.his.contract import HisUnavailable
from hcm.his.fake_router import FakeHisRouter, Switches
from hcm.his.fake_store import FakeHisStore, load_seed, now_in_china

logger = logging.getLogger(__name__)

Seed = str | Path | dict


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.0: one request per connection, so no idle keep-alive thread outlives a test."""

    server: "_Server"
    timeout = 10  # a client that connects and sends nothing does not hold a thread forever

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        url = urlsplit(self.path)
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit():
            self.send_error(400, "bad Content-Length")
            return
        reply = self.server.router.handle(
            method=self.command,
            path=url.path,
            query=dict(parse_qsl(url.query)),
            hospital=self.headers.get("X-Hospital"),
            body=self.rfile.read(int(length)),
        )
        if reply.delay and self.server.closing.wait(reply.delay):
            return  # shutting down: drop the connection rather than hold the server up
        payload = json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fake HIS %s: %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # request threads are joined by server_close(): nothing left behind
    block_on_close = True

    def __init__(self, address: tuple[str, int], router: FakeHisRouter):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.router = router
        self.closing = threading.Event()  # wakes handlers sleeping for latency or a timeout switch


def check_loopback(host: str) -> None:
    """The fake holds patient-like data and has control endpoints: it never listens beyond this machine."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the fake HIS listens on loopback only (127.0.0.1, ::1, localhost), not {host!r}")


class FakeHisServer:
    """The fake HIS on a loopback port; `start()` serves in a thread, `stop()` leaves nothing running."""

    def __init__(
        self,
        *,
        seeds: Sequence[Seed] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        switches: Switches | None = None,
        clock: Callable[[], datetime] = now_in_china,
    ):
        check_loopback(host)
        documents = [seed if isinstance(seed, dict) else load_seed(seed) for seed in seeds]
        self.store = FakeHisStore(documents, clock=clock)
        self.router = FakeHisRouter(self.store, switches)
        self._server = _Server((host, port), self.router)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def requests(self) -> list[str]:
        """The protocol requests served, e.g. ["POST /settlements/pre", "POST /settlements"]."""
        return self.router.request_log()

    def start(self) -> "FakeHisServer":
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-his", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (manage.py fake_his)."""
        try:
            self._server.serve_forever(poll_interval=0.2)
        finally:
            self._server.closing.set()
            self._server.server_close()

    def stop(self) -> None:
        self._server.closing.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()

    def control(self, **switches: Any) -> dict:
        """Flip switches over HTTP, as any client would: `server.control(fail_next=1)`."""
        return self.call("POST", "/_control", switches)["switches"]

    def reset(self) -> None:
        self.call("POST", "/_control/reset", {})

    def add_prescriptions(self, *, hospital: str, his_patient_id: str, prescriptions: list[dict]) -> list[str]:
        body = {"hospital": hospital, "his_patient_id": his_patient_id, "prescriptions": prescriptions}
        return self.call("POST", "/_control/prescriptions", body)["added"]

    def add_reports(
        self, *, hospital: str, his_patient_id: str, checkup_reports: list[dict] = (), exam_results: list[dict] = ()
    ) -> list[str]:
        """Reports becoming ready in the HIS (see hcm.his.fake_reports for the entries): their numbers."""
        body = {
            "hospital": hospital,
            "his_patient_id": his_patient_id,
            "checkup_reports": list(checkup_reports),
            "exam_results": list(exam_results),
        }
        return self.call("POST", "/_control/reports", body)["added"]

    def revise_reports(
        self, *, hospital: str, his_patient_id: str, checkup_reports: list[dict] = (), exam_results: list[dict] = ()
    ) -> list[str]:
        """New versions of existing reports (a correction in the HIS, changed now unless they say)."""
        body = {
            "hospital": hospital,
            "his_patient_id": his_patient_id,
            "checkup_reports": list(checkup_reports),
            "exam_results": list(exam_results),
            "revise": True,
        }
        return self.call("POST", "/_control/reports", body)["added"]

    def add_schedules(self, *, hospital: str, schedules: list[dict]) -> list[str]:
        return self.call("POST", "/_control/schedules", {"hospital": hospital, "schedules": schedules})["added"]

    def add_patients(self, *, hospital: str, patients: list[dict]) -> list[str]:
        return self.call("POST", "/_control/patients", {"hospital": hospital, "patients": patients})["added"]

    def state(self) -> dict:
        return self.call("GET", "/_control/state")

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())


@contextmanager
def running_fake_his(seed: Seed | Sequence[Seed] = (), **options: Any) -> Iterator[FakeHisServer]:
    """A fake HIS serving on a free loopback port for the duration of the block.

    `seed` is a seed document, a path to one, or a list of them; `options` are FakeHisServer's
    (switches=Switches(...), clock=...).
    """
    seeds = [seed] if isinstance(seed, str | Path | dict) else list(seed)
    server = FakeHisServer(seeds=seeds, **options).start()
    try:
        yield server
    finally:
        server.stop()


def demo_seed_paths() -> list[Path]:
    """fixtures/<code>/his.json of every demo hospital."""
    from django.conf import settings

    return sorted(Path(settings.HCM_FIXTURES_DIR).glob("*/his.json"))


# --- in process (config `adapter: fake`) --------------------------------------------------------


class InProcessTransport:
    """The fake without a socket: for development and demos that run no fake_his process.

    Each process has its own store, seeded from the demo fixtures; a reply slower than the
    read timeout raises HisUnavailable at once (the state change, if any, has happened).
    """

    def __init__(self, router: FakeHisRouter):
        self.router = router

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
        reply = self.router.handle(
            method=method,
            path=path,
            query={key: str(value) for key, value in (params or {}).items()},
            hospital=headers.get("X-Hospital"),
            body=json.dumps(body).encode() if body is not None else b"",
        )
        if reply.delay >= timeout[1]:
            raise HisUnavailable(his_message=f"{method} {path}: timed out (in-process fake HIS)")
        time.sleep(reply.delay)
        return reply.status, json.loads(json.dumps(reply.body))


_in_process: FakeHisRouter | None = None
_in_process_lock = threading.Lock()


def in_process_transport() -> InProcessTransport:
    global _in_process
    with _in_process_lock:
        if _in_process is None:
            _in_process = FakeHisRouter(FakeHisStore([load_seed(path) for path in demo_seed_paths()]))
        return InProcessTransport(_in_process)


def reset_in_process_fake() -> None:
    """Forget the in-process fake's state; the next use reseeds it."""
    global _in_process
    with _in_process_lock:
        _in_process = None

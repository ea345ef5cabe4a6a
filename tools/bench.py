"""make bench: throughput and latency of read endpoints and of the payment write paths under gunicorn.

Starts gunicorn on loopback with production settings (PostgreSQL when DATABASE_URL is set,
else a SQLite file of its own under var/bench/), loads it from separate client processes and
prints requests per second and p50/p99 latency per endpoint, next to a bare Django view
(/healthz) measured in the same run, as a ratio. Bounded: a fixed number of requests each.

Two write measurements follow the reads, on rows tools/bench_setup.py makes in the bench
database before gunicorn starts:
  checkout + balance pay  a signed-in patient creates an order and pays it from the balance
                          card; one iteration is both requests, and its latency is the pair's.
                          Each client process has its own patient, account and card, so the
                          clients do not queue on one card row's lock.
  WeChat notify           signed WeChat Pay v2 notifications: first ones for pending payments
                          (the write path), then repeats for the now paid ones (the idempotent
                          "SUCCESS again" path WeChat keeps hitting), each in its own row.
Every answer is checked (201/200, the payment paid, return_code SUCCESS); failures are counted
and printed, and the database is queried afterwards for orders and payments paid exactly once.

Outpatient payment (issue 5) runs against the fake HIS (manage.py fake_his, latency 0) that the
bench starts on a free loopback port, the bench database's hospital pointed at it, and on a
second gunicorn with Q_SYNC=1 (django-q2 sync: the settlement queued after the charge commits
runs inline, inside the pay request), so the first server's measurements stay as they were:
  outpatient merged pay   3 unpaid mergeable prescriptions per iteration, created just now in
                          the fake through its control endpoint (one batch per client before
                          timing), paid in one POST .../outpatient/pay/ by balance; the answer
                          must say settled. Checked afterwards: every payment settled with 3
                          settled lines, and the fake saw 3 POST /settlements per payment.
  outpatient unpaid list  GET .../outpatient/unpaid/ (two HIS calls and a mirror write each),
                          measured after the payments so the lists hold the demo bills only.
  pay-later reminders     hcm.outpatient.tasks.send_pay_later_reminders timed in-process over
                          BENCH_REMINDER_BILLS unpaid pay-later bills (tools/bench_setup.py), twice
                          with the fake listing them all and twice with it failing (the task then
                          reminds from our copy); seconds, reminders written, SQL queries.
A run with a failure exits non-zero, after printing everything.
"""

import http.client
import json
import multiprocessing
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))
WORKERS = int(os.environ.get("BENCH_WORKERS", str(os.cpu_count() or 2)))
HOSPITAL = os.environ.get("BENCH_HOSPITAL", "ptdemo")
ENDPOINTS = [
    ("bare Django view", "/healthz"),
    ("home page", f"/api/v1/{HOSPITAL}/public/site/home/"),
    ("generated list", f"/api/v1/{HOSPITAL}/public/doctors/"),
]
# The write paths: checkout-and-pay iterations (two requests each) and WeChat notifications.
CHECKOUTS = int(os.environ.get("BENCH_CHECKOUTS", "200"))
NOTIFY_FIRST = int(os.environ.get("BENCH_NOTIFY_FIRST", "400"))
NOTIFY_REPEATS = int(os.environ.get("BENCH_NOTIFY_REPEATS", "800"))
CHECKOUT_WARMUP = 3  # iterations per client before timing
NOTIFY_WARMUP = 5  # payments per client notified (first and repeat) before timing
CHECKOUT_PATH = f"/api/v1/{HOSPITAL}/patient/checkout/"
PAY_PATH = f"/api/v1/{HOSPITAL}/patient/orders/{{order}}/pay/"
NOTIFY_PATH = f"/api/v1/{HOSPITAL}/payments/wechat/payment-notify/"
# Signs the bench's notifications; the server reads it from the variable the hospital's config names.
WECHAT_API_KEY = os.environ.get("BENCH_WECHAT_API_KEY", "bench-only-wechat-pay-api-key-32")
SHOWN_FAILURES = 10
# Outpatient payment against the fake HIS; by default as many as the reads and the checkouts.
OUTPATIENT_LISTS = int(os.environ.get("BENCH_OUTPATIENT_LISTS", str(REQUESTS)))
OUTPATIENT_PAYS = int(os.environ.get("BENCH_OUTPATIENT_PAYS", str(CHECKOUTS)))
OUTPATIENT_WARMUP = 3  # merged payments per client before timing
MERGED = 3  # prescriptions per merged payment
PRESCRIPTION_PRICE = "6.80"  # one item each; the cards are funded for the full amount
UNPAID_PATH = f"/api/v1/{HOSPITAL}/patient/outpatient/unpaid/"
OUTPATIENT_PAY_PATH = f"/api/v1/{HOSPITAL}/patient/outpatient/pay/"
REMINDER_BILLS = int(os.environ.get("BENCH_REMINDER_BILLS", "100000"))
REMINDER_PATIENTS = int(os.environ.get("BENCH_REMINDER_PATIENTS", "1000"))
FAKE_HIS_LOG = 10_000  # the fake keeps this many protocol requests in its log (fake_router.py)


def environment() -> dict:
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key-not-for-production-use-0123456789"),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "HCM_FIELD_KEYS": os.environ.get("HCM_FIELD_KEYS", "YmVuY2gtb25seS1maWVsZC1rZXktMzItYnl0ZXMhISE="),
        "HCM_LOOKUP_KEY": os.environ.get("HCM_LOOKUP_KEY", "bench-only-lookup-key"),
        "LOG_LEVEL": "WARNING",
        "BENCH_HOSPITAL": HOSPITAL,
        "BENCH_WECHAT_API_KEY": WECHAT_API_KEY,
        # A few accounts on one address pay hundreds of times a minute: a load, not an attack.
        "HCM_RATE_PAYMENT_PASSWORD_ACCOUNT": "1000000/min",
        "HCM_RATE_PAYMENT_PASSWORD_ADDRESS": "1000000/min",
    }
    if "REDIS_URL" not in os.environ:  # production refuses to start without a shared cache
        env["HCM_DATABASE_CACHE"] = "1"
    if "DATABASE_URL" not in os.environ:
        env["HCM_VAR_DIR"] = str(ROOT / "var" / "bench")
    return env


def prepare(env: dict) -> None:
    def manage(*args):
        subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)

    manage("migrate", "--noinput")
    manage("createcachetable")
    manage("collectstatic", "--noinput")
    manage("onboard", *sorted(str(p) for p in (ROOT / "configs").glob("*.yaml")))
    manage("load_fixtures")


def setup(env: dict, *args) -> dict:
    """Run a tools/bench_setup.py command in the bench environment; its JSON answer."""
    done = subprocess.run(
        [PYTHON, "tools/bench_setup.py", *map(str, args)],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not come up")


def client(args) -> list[float]:
    port, path, count = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        conn.request("GET", path, headers={"Host": "127.0.0.1"})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"{path}: HTTP {response.status}")
        latencies.append(time.perf_counter() - started)
    conn.close()
    return latencies


def post(conn, path: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    conn.request("POST", path, body=body, headers={"Host": "127.0.0.1", **headers})
    response = conn.getresponse()
    return response.status, response.read()


def shorten(body: bytes) -> str:
    """An answer as text for the failure list (error messages are in Chinese: decoded, not escaped)."""
    return body.decode(errors="replace")[:300].replace("\n", " ")


def checkout_client(args) -> tuple[list[float], list[str]]:
    """Checkout then pay by balance, `count` times; the pair's latencies and what went wrong.

    An iteration that fails is not timed (nor counted as throughput) but reported.
    """
    port, key, product, password, count = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    order_body = json.dumps({"items": [{"product": product, "quantity": 1}]}).encode()
    pay_body = json.dumps({"method": "balance", "password": password}).encode()
    latencies, failures = [], []
    for _ in range(count):
        started = time.perf_counter()
        status, body = post(conn, CHECKOUT_PATH, order_body, headers)
        if status != 201:
            failures.append(f"checkout: HTTP {status} {shorten(body)}")
            continue
        status, body = post(conn, PAY_PATH.format(order=json.loads(body)["id"]), pay_body, headers)
        if status != 200 or json.loads(body)["payment"]["state"] != "paid":
            failures.append(f"pay: HTTP {status} {shorten(body)}")
            continue
        latencies.append(time.perf_counter() - started)
    conn.close()
    return latencies, failures


def unpaid_client(args) -> tuple[list[float], list[str]]:
    """GET the signed-in patient's unpaid list `count` times; latencies and answers other than 200."""
    port, key, count = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Host": "127.0.0.1", "Authorization": f"Bearer {key}"}
    latencies, failures = [], []
    for _ in range(count):
        started = time.perf_counter()
        conn.request("GET", UNPAID_PATH, headers=headers)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            failures.append(f"unpaid list: HTTP {response.status} {shorten(body)}")
            continue
        latencies.append(time.perf_counter() - started)
    conn.close()
    return latencies, failures


def outpatient_pay_client(args) -> tuple[list[float], list[str]]:
    """One merged balance payment per batch of prescription numbers, each with its own
    Idempotency-Key as the app sends; only an answer saying "settled" counts."""
    port, key, password, batches = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    latencies, failures = [], []
    for numbers in batches:
        body = json.dumps({"numbers": numbers, "method": "balance", "password": password}).encode()
        started = time.perf_counter()
        status, answer = post(conn, OUTPATIENT_PAY_PATH, body, {**headers, "Idempotency-Key": uuid.uuid4().hex})
        state = json.loads(answer).get("outpatient_payment", {}).get("state") if status == 200 else None
        if state != "settled":
            failures.append(f"outpatient pay: HTTP {status} state {state} {shorten(answer)}")
            continue
        latencies.append(time.perf_counter() - started)
    conn.close()
    return latencies, failures


def notify_client(args) -> tuple[list[float], list[str]]:
    """POST each notification once, as WeChat does; latencies and answers other than SUCCESS."""
    port, bodies = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies, failures = [], []
    for notification in bodies:
        started = time.perf_counter()
        status, body = post(conn, NOTIFY_PATH, notification.encode(), {"Content-Type": "text/xml"})
        if status != 200 or ET.fromstring(body).findtext("return_code") != "SUCCESS":
            failures.append(f"notify: HTTP {status} {shorten(body)}")
            continue
        latencies.append(time.perf_counter() - started)
    conn.close()
    return latencies, failures


def stats(latencies: list[float], elapsed: float) -> dict:
    latencies = sorted(latencies)
    if not latencies:
        return {"rps": 0.0, "p50": float("nan"), "p99": float("nan")}
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[max(int(len(latencies) * 0.99) - 1, 0)] * 1000,
    }


def measure(pool, port: int, path: str) -> dict:
    pool.map(client, [(port, path, 25)] * CLIENTS)  # warm-up
    started = time.perf_counter()
    results = pool.map(client, [(port, path, REQUESTS // CLIENTS)] * CLIENTS)
    elapsed = time.perf_counter() - started
    return stats([x for batch in results for x in batch], elapsed)


def timed(pool, func, jobs: list) -> dict:
    """Run one job per client process at once; stats plus the failures and how many were tried."""
    started = time.perf_counter()
    results = pool.map(func, jobs)
    elapsed = time.perf_counter() - started
    failures = [failure for _latencies, batch in results for failure in batch]
    result = stats([x for latencies, _failures in results for x in latencies], elapsed)
    return {**result, "failures": failures, "tried": sum(len(f) + len(x) for x, f in results)}


def measure_checkout(pool, port: int, fixture: dict) -> dict:
    """Each client signs in as its own patient; warm-up failures count with the timed ones."""

    def jobs(count):
        return [(port, c["key"], fixture["product"], fixture["password"], count) for c in fixture["clients"]]

    warm = timed(pool, checkout_client, jobs(CHECKOUT_WARMUP))
    result = timed(pool, checkout_client, jobs(CHECKOUTS // CLIENTS))
    return {**result, "failures": warm["failures"] + result["failures"], "tried": warm["tried"] + result["tried"]}


def split(items: list) -> list[list]:
    return [items[i::CLIENTS] for i in range(CLIENTS)]


def measure_notify(pool, port: int, fixture: dict) -> tuple[dict, dict]:
    """First notifications of pending payments, then repeats of them (cycled) once they are paid."""
    bodies = fixture["bodies"]
    warm, first = bodies[: NOTIFY_WARMUP * CLIENTS], bodies[NOTIFY_WARMUP * CLIENTS :]
    warmups = [timed(pool, notify_client, [(port, b) for b in split(warm)]) for _ in range(2)]
    first_result = timed(pool, notify_client, [(port, b) for b in split(first)])
    repeats = [first[i % len(first)] for i in range(NOTIFY_REPEATS)]
    repeat_result = timed(pool, notify_client, [(port, b) for b in split(repeats)])
    warm_failures = [f for w in warmups for f in w["failures"]]
    first_result = {
        **first_result,
        "failures": warm_failures + first_result["failures"],
        "tried": first_result["tried"] + sum(w["tried"] for w in warmups),
    }
    return first_result, repeat_result


def his_call(base_url: str, path: str, body: dict | None = None) -> dict:
    """A control call to the fake HIS (no switch, latency or failure applies to those)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base_url + path, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def start_fake_his(env: dict) -> tuple[subprocess.Popen, str]:
    """manage.py fake_his on a free loopback port with latency 0, seeded from fixtures/*/his.json."""
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "manage.py", "fake_his", "--port", str(port), "--latency-ms", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            his_call(base_url, "/_control/state")
            return process, base_url
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the fake HIS did not come up")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def check_merge_rules(fixture: dict) -> None:
    """The hospital must allow what the merged payment does: 3 together, from one department, of
    mixed kinds; the prescriptions are made mergeable, not pay-later, created just now (not expired)."""
    merge = fixture["merge"]
    if not merge["enabled"] or merge["max_prescriptions"] < MERGED or merge["same_kind_only"]:
        raise SystemExit(f"{HOSPITAL}: its merge rules {merge} do not allow {MERGED} prescriptions of mixed kinds")


def add_prescriptions(base_url: str, run: str, clients: list[dict], per_client: int) -> list[list[list[str]]]:
    """Per client, `per_client` batches of MERGED fresh unpaid prescriptions added to its HIS
    patient in one control request; answers the batches of numbers."""
    kinds = ["western_medicine", "treatment", "chinese_medicine"]
    item = {"name": "复方甘草片 100片", "quantity": "1", "unit": "瓶", "unit_price": PRESCRIPTION_PRICE}
    batches = []
    for index, client in enumerate(clients):
        numbers = [f"BX{run}{index:02d}{n:05d}" for n in range(per_client * MERGED)]
        entries = [
            {
                "number": number,
                "kind": kinds[n % len(kinds)],
                "department": "全科门诊",
                "doctor": "压测",
                "pay_later": False,
                "mergeable": True,
                "items": [item],
            }  # no created_at: the fake stamps it now
            for n, number in enumerate(numbers)
        ]
        body = {"hospital": HOSPITAL, "his_patient_id": client["his_patient_id"], "prescriptions": entries}
        added = his_call(base_url, "/_control/prescriptions", body)["added"]
        batches.append([added[i : i + MERGED] for i in range(0, len(added), MERGED)])
    return batches


def measure_outpatient_pay(pool, port: int, fixture: dict, his_url: str) -> dict:
    """Merged payments, warm-up ones first; warm-up failures count with the timed ones."""
    per_client = OUTPATIENT_PAYS // CLIENTS
    batches = add_prescriptions(his_url, fixture["run"], fixture["clients"], OUTPATIENT_WARMUP + per_client)

    def jobs(part):
        return [
            (port, c["key"], fixture["password"], part(b)) for c, b in zip(fixture["clients"], batches, strict=True)
        ]

    warm = timed(pool, outpatient_pay_client, jobs(lambda b: b[:OUTPATIENT_WARMUP]))
    result = timed(pool, outpatient_pay_client, jobs(lambda b: b[OUTPATIENT_WARMUP:]))
    return {**result, "failures": warm["failures"] + result["failures"], "tried": warm["tried"] + result["tried"]}


def measure_unpaid(pool, port: int, fixture: dict) -> dict:
    keys = [c["key"] for c in fixture["clients"]]
    warm = timed(pool, unpaid_client, [(port, key, 25) for key in keys])
    result = timed(pool, unpaid_client, [(port, key, OUTPATIENT_LISTS // CLIENTS) for key in keys])
    return {**result, "failures": warm["failures"] + result["failures"], "tried": warm["tried"] + result["tried"]}


def measure_outpatient(pool, port: int, fixture: dict, his_url: str) -> tuple[dict, dict, dict]:
    """Payments, the fake's state right after them (its request log holds the settlements), then lists."""
    pay = measure_outpatient_pay(pool, port, fixture, his_url)
    his_state = his_call(his_url, "/_control/state")
    unpaid = measure_unpaid(pool, port, fixture)
    return unpaid, pay, his_state


def start_server(env: dict) -> tuple[subprocess.Popen, int]:
    port = free_port()
    server = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "--pythonpath",
            "platform",
            "hcm.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(WORKERS),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    return server, port


def checkout_problems(result: dict, found: dict) -> list[str]:
    """What the database should hold after the checkout run, compared with what it holds."""
    paid = result["tried"] - len(result["failures"])
    refused_checkouts = sum(1 for failure in result["failures"] if failure.startswith("checkout:"))
    expected = {
        "orders": result["tried"] - refused_checkouts,
        "balance_payments_paid": paid,
        "balance_payments_other": 0,
        "purchase_entries": paid,
        "cards_not_adding_up": 0,
    }
    problems = [
        f"checkout: {name} is {found[name]}, expected {value}"
        for name, value in expected.items()
        if found[name] != value
    ]
    if found["order_states"].get("paid", 0) != paid:
        problems.append(f"checkout: order states {found['order_states']}, expected {paid} paid")
    return problems


def notify_problems(count: int, found: dict) -> list[str]:
    """Every notified payment paid exactly once: its payment and order paid, mark_paid logged once, no refund."""
    expected = {
        "payments": count,
        "orders_paid": count,
        "orders_marked_paid_once": count,
        "orders_marked_paid_more": 0,
        "refunds": 0,
    }
    problems = [
        f"notify: {name} is {found[name]}, expected {value}" for name, value in expected.items() if found[name] != value
    ]
    if found["payment_states"] != {"paid": count}:
        problems.append(f"notify: payment states {found['payment_states']}, expected {count} paid")
    return problems


def outpatient_problems(result: dict, found: dict, his_state: dict) -> list[str]:
    """Each merged payment settled with 3 settled lines and paid once by balance, the cards adding
    up; the fake HIS saw MERGED POST /settlements per payment and holds MERGED settlements for each."""
    count = found["payments"]
    expected = {
        "payments": result["tried"],
        "with_3_settled_lines": count,
        "balance_charges_paid": count,
        "charges_other": 0,
        "cards_not_adding_up": 0,
    }
    problems = [
        f"outpatient: {name} is {found[name]}, expected {value}"
        for name, value in expected.items()
        if found[name] != value
    ]
    if found["states"] != ({"settled": count} if count else {}):
        problems.append(f"outpatient: payment states {found['states']}, expected {count} settled")
    log = his_state["requests"]
    if len(log) >= FAKE_HIS_LOG:
        problems.append(f"outpatient: the fake HIS's request log is full ({len(log)}), settlements not countable")
    elif log.count("POST /settlements") != MERGED * count:
        problems.append(
            f"outpatient: the fake HIS saw {log.count('POST /settlements')} POST /settlements for {count} payments"
        )
    by_payment = Counter(
        p["settlement"]["payment_reference"]
        for p in his_state["hospitals"][HOSPITAL]["prescriptions"]
        if p["settlement"]
    )
    wrong = [number for number in found["numbers"] if by_payment[number] != MERGED]
    if wrong:
        problems.append(
            f"outpatient: {len(wrong)} payments without {MERGED} settlements in the fake HIS, e.g. {wrong[:3]}"
        )
    return problems


def his_summary(his_state: dict, found: dict) -> dict:
    """The fake's request log after the payments, by endpoint (patient ids folded into <id>)."""
    log = his_state["requests"]
    return {
        "protocol_requests": len(log),
        "POST /settlements": log.count("POST /settlements"),
        "per_payment": log.count("POST /settlements") / found["payments"] if found["payments"] else None,
        "by_endpoint": dict(Counter(re.sub(r"^(GET /patients/)[^/]+", r"\1<id>", line) for line in log)),
    }


def print_table(results: list[tuple[str, str, dict]]) -> None:
    database = "PostgreSQL" if "DATABASE_URL" in os.environ else "SQLite"
    print(f"{database}, gunicorn {WORKERS} sync workers, {CLIENTS} client processes, {REQUESTS} requests each")
    print(f"{'endpoint':<24} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs bare':>8}  path")
    bare = results[0][2]["rps"]
    for name, path, r in results:
        ratio = r["rps"] / bare
        shown = f"{ratio:8.2f}" if ratio >= 0.01 else f"{ratio:8.4f}"  # the write paths are far below 1%
        print(f"{name:<24} {r['rps']:8.0f} {r['p50']:8.2f} {r['p99']:8.2f} {shown}  {path}")


def print_writes(checkout: dict, fixture: dict, first: dict, repeat: dict) -> None:
    patients = ", ".join(c["patient"] for c in fixture["clients"])
    print(
        f"checkout + balance pay: {CHECKOUTS // CLIENTS * CLIENTS} iterations (+{CHECKOUT_WARMUP * CLIENTS} warm-up), "
        "one = checkout + pay, req/s counts iterations and p50/p99 the pair; "
        f"each client its own patient, WeChat account and balance card ({patients}), so no shared card row"
    )
    print(
        f"WeChat notify: {NOTIFY_FIRST} first notifications of pending payments, then {NOTIFY_REPEATS} repeats "
        f"of them (+{NOTIFY_WARMUP * CLIENTS} warm-up payments notified twice, counted with the first ones)"
    )
    for name, result in (("checkout + balance pay", checkout), ("notify first", first), ("notify repeat", repeat)):
        failures = result["failures"]
        print(f"failures, {name}: {len(failures)} of {result['tried']}")
        for failure in failures[:SHOWN_FAILURES]:
            print(f"  {failure}")


def print_outpatient(unpaid: dict, pay: dict, fixture: dict) -> None:
    his = fixture["his"]
    patients = ", ".join(f"{c['patient']}/HIS {c['his_patient_id']}" for c in fixture["clients"])
    print(
        f"outpatient: fake HIS at {his['base_url']} (latency 0, timeout {his['timeout']}, retries {his['retries']}); "
        "second gunicorn with Q_SYNC=1 (django-q2 sync: settlement runs inline after the charge commits, in the "
        f"pay request); each client its own WeChat account and bound demo patient ({patients}); "
        "vs bare: the first server's bare view"
    )
    payments = f"{OUTPATIENT_PAYS // CLIENTS * CLIENTS} payments (+{OUTPATIENT_WARMUP * CLIENTS} warm-up)"
    validity = f"{fixture['prescription_validity_hours']:g} h"
    print(
        f"outpatient merged pay: {payments} of {MERGED} prescriptions each, by balance, with an Idempotency-Key; "
        f"merge rules {json.dumps(fixture['merge'])}; prescriptions created just now (valid {validity}), mergeable, "
        "not pay-later, all of a client's added before timing (so a payment's HIS unpaid list holds those still to pay)"
    )
    print(
        f"outpatient unpaid list: {OUTPATIENT_LISTS // CLIENTS * CLIENTS} requests (+{25 * CLIENTS} warm-up) after "
        "the payments: the demo bills only; each is find_patient + unpaid_prescriptions + our mirror's upsert"
    )
    for name, result in (("outpatient merged pay", pay), ("outpatient unpaid list", unpaid)):
        print(f"failures, {name}: {len(result['failures'])} of {result['tried']}")
        for failure in result["failures"][:SHOWN_FAILURES]:
            print(f"  {failure}")


def print_reminders(found: dict) -> None:
    print(
        f'pay-later reminders: hcm.outpatient.tasks.send_pay_later_reminders("{HOSPITAL}") in-process, over '
        f"{found['bills']:,} unpaid pay-later bills issued before today, of {found['patients']:,} bench patients "
        f"each bound to one WeChat account (inserted in {found['inserted_seconds']} s, loaded into the fake HIS in "
        f"{found['loaded_into_fake_seconds']} s); queries counted with CaptureQueriesContext (its SQL logging included "
        "in the seconds); a retried read is one the adapter's HIS timeout or a 5xx cut off (the fake may then "
        "print a BrokenPipeError: the adapter stopped listening)"
    )
    print(f"{'HIS':<44} {'run':>4} {'seconds':>8} {'written':>9} {'queries':>8}  HIS refresh")
    modes = (
        ("answering: the fake lists every bill", found["his_answering"]),
        (f"failing: 500 ({found['retries']} retries), from our copy", found["his_failing"]),
    )
    for mode, runs in modes:
        for number, run in enumerate(runs, 1):
            queries = f">={run['queries']}" if run["queries_capped"] else str(run["queries"])
            notes = [f"{run['his_retries']} retried HIS reads"] if run["his_retries"] else []
            if run["answered"] != run["written"]:
                notes.append(f"the task answered {run['answered']:,}")
            print(
                f"{mode:<44} {number:>4} {run['seconds']:8.2f} {run['written']:>9,} {queries:>8}  {run['his_refresh']}"
                + (f" ({'; '.join(notes)})" if notes else "")
            )


def reminder_problems(found: dict) -> list[str]:
    """Each mode's first run reminds of every bench bill once, the second of none; with the HIS
    answering the refresh worked, with it failing the task fell back to our copy."""
    problems = []
    for mode, runs, refresh in (
        ("answering", found["his_answering"], "ok"),
        ("failing", found["his_failing"], "failed"),
    ):
        if runs[0]["written"] != found["bills"] or runs[1]["written"] != 0:
            problems.append(f"reminders, HIS {mode}: wrote {runs[0]['written']} then {runs[1]['written']}")
        if any(run["his_refresh"] != refresh for run in runs):
            problems.append(
                f"reminders, HIS {mode}: refresh {[run['his_refresh'] for run in runs]}, expected {refresh}"
            )
    return problems


def run_first_server(env: dict, checkout_fixture: dict, notify_fixture: dict) -> tuple[list, dict, dict, dict]:
    """The reads, checkout + pay and WeChat notifications, as before the outpatient measurements."""
    server, port = start_server(env)
    try:
        wait_until_up(port)
        with multiprocessing.Pool(CLIENTS) as pool:
            results = [(name, path, measure(pool, port, path)) for name, path in ENDPOINTS]
            checkout = measure_checkout(pool, port, checkout_fixture)
            first, repeat = measure_notify(pool, port, notify_fixture)
    finally:
        stop(server)
    return results, checkout, first, repeat


def run_outpatient_server(env: dict, fixture: dict, his_url: str) -> tuple[dict, dict, dict]:
    """The outpatient measurements on their own gunicorn: Q_SYNC=1 there only (see the docstring)."""
    server, port = start_server({**env, "Q_SYNC": "1"})
    try:
        wait_until_up(port)
        with multiprocessing.Pool(CLIENTS) as pool:
            return measure_outpatient(pool, port, fixture, his_url)
    finally:
        stop(server)


def main() -> None:
    env = environment()
    prepare(env)
    checkout_fixture = setup(env, "checkout", CLIENTS, CHECKOUT_WARMUP + CHECKOUTS // CLIENTS)
    notify_count = NOTIFY_FIRST + NOTIFY_WARMUP * CLIENTS
    notify_fixture = setup(env, "notify", notify_count)
    server_env = {**env, notify_fixture["api_key_env"]: WECHAT_API_KEY}
    fake_his, his_url = start_fake_his(env)
    try:
        funds = float(PRESCRIPTION_PRICE) * MERGED * (OUTPATIENT_WARMUP + OUTPATIENT_PAYS // CLIENTS)
        outpatient_fixture = setup(env, "outpatient", CLIENTS, f"{funds:.2f}", his_url)
        check_merge_rules(outpatient_fixture)
        results, checkout, first, repeat = run_first_server(server_env, checkout_fixture, notify_fixture)
        unpaid, pay, his_state = run_outpatient_server(server_env, outpatient_fixture, his_url)
        reminders = setup(env, "reminders", REMINDER_BILLS, REMINDER_PATIENTS, his_url)
    finally:
        stop(fake_his)
    results += [
        ("checkout + balance pay", f"{CHECKOUT_PATH} + {PAY_PATH.format(order='<id>')}", checkout),
        ("WeChat notify, first", NOTIFY_PATH, first),
        ("WeChat notify, repeat", NOTIFY_PATH, repeat),
        ("outpatient unpaid list", UNPAID_PATH, unpaid),
        ("outpatient merged pay", OUTPATIENT_PAY_PATH, pay),
    ]
    account_ids = ",".join(str(c["account"]) for c in checkout_fixture["clients"])
    checkout_found = setup(env, "verify-checkout", checkout_fixture["since"], account_ids)
    notify_found = setup(env, "verify-notify", notify_fixture["run"])
    outpatient_ids = ",".join(str(c["account"]) for c in outpatient_fixture["clients"])
    outpatient_found = setup(env, "verify-outpatient", outpatient_fixture["since"], outpatient_ids)
    print_table(results)
    print_writes(checkout, checkout_fixture, first, repeat)
    print_outpatient(unpaid, pay, outpatient_fixture)
    print(f"database after checkout: {json.dumps(checkout_found)}")
    print(f"database after notify: {json.dumps(notify_found)}")
    shown = {key: value for key, value in outpatient_found.items() if key != "numbers"}
    print(f"database after outpatient pay: {json.dumps(shown, ensure_ascii=False)}")
    print(f"fake HIS after outpatient pay: {json.dumps(his_summary(his_state, outpatient_found))}")
    print_reminders(reminders)
    problems = (
        checkout_problems(checkout, checkout_found)
        + notify_problems(notify_count, notify_found)
        + outpatient_problems(pay, outpatient_found, his_state)
        + reminder_problems(reminders)
    )
    for problem in problems:
        print(f"PROBLEM {problem}")
    failed = [checkout, first, repeat, unpaid, pay]
    if problems or any(result["failures"] for result in failed):
        raise SystemExit("bench: some requests failed or left the database wrong (see above)")


if __name__ == "__main__":
    main()

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
A run with a failure exits non-zero, after printing everything.
"""

import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
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
    }
    if "DATABASE_URL" not in os.environ:
        env["HCM_VAR_DIR"] = str(ROOT / "var" / "bench")
    return env


def prepare(env: dict) -> None:
    def manage(*args):
        subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)

    manage("migrate", "--noinput")
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


def main() -> None:
    env = environment()
    prepare(env)
    checkout_fixture = setup(env, "checkout", CLIENTS, CHECKOUT_WARMUP + CHECKOUTS // CLIENTS)
    notify_count = NOTIFY_FIRST + NOTIFY_WARMUP * CLIENTS
    notify_fixture = setup(env, "notify", notify_count)
    server_env = {**env, notify_fixture["api_key_env"]: WECHAT_API_KEY}
    server, port = start_server(server_env)
    try:
        wait_until_up(port)
        with multiprocessing.Pool(CLIENTS) as pool:
            results = [(name, path, measure(pool, port, path)) for name, path in ENDPOINTS]
            checkout = measure_checkout(pool, port, checkout_fixture)
            first, repeat = measure_notify(pool, port, notify_fixture)
    finally:
        server.terminate()
        server.wait(timeout=10)
    results += [
        ("checkout + balance pay", f"{CHECKOUT_PATH} + {PAY_PATH.format(order='<id>')}", checkout),
        ("WeChat notify, first", NOTIFY_PATH, first),
        ("WeChat notify, repeat", NOTIFY_PATH, repeat),
    ]
    account_ids = ",".join(str(c["account"]) for c in checkout_fixture["clients"])
    checkout_found = setup(env, "verify-checkout", checkout_fixture["since"], account_ids)
    notify_found = setup(env, "verify-notify", notify_fixture["run"])
    print_table(results)
    print_writes(checkout, checkout_fixture, first, repeat)
    print(f"database after checkout: {json.dumps(checkout_found)}")
    print(f"database after notify: {json.dumps(notify_found)}")
    problems = checkout_problems(checkout, checkout_found) + notify_problems(notify_count, notify_found)
    for problem in problems:
        print(f"PROBLEM {problem}")
    if problems or checkout["failures"] or first["failures"] or repeat["failures"]:
        raise SystemExit("bench: some write requests failed or left the database wrong (see above)")


if __name__ == "__main__":
    main()

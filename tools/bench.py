"""make bench: throughput and latency of the home page and a generated list endpoint under gunicorn.

Starts gunicorn on loopback with production settings (PostgreSQL when DATABASE_URL is set,
else a SQLite file of its own under var/bench/), loads it from separate client processes and
prints requests per second and p50/p99 latency per endpoint, next to a bare Django view
(/healthz) measured in the same run, as a ratio. Bounded: a fixed number of requests each.
"""

import http.client
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
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


def measure(pool, port: int, path: str) -> dict:
    pool.map(client, [(port, path, 25)] * CLIENTS)  # warm-up
    started = time.perf_counter()
    results = pool.map(client, [(port, path, REQUESTS // CLIENTS)] * CLIENTS)
    elapsed = time.perf_counter() - started
    latencies = sorted(x for batch in results for x in batch)
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def main() -> None:
    env = environment()
    prepare(env)
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
    try:
        wait_until_up(port)
        with multiprocessing.Pool(CLIENTS) as pool:
            results = [(name, path, measure(pool, port, path)) for name, path in ENDPOINTS]
    finally:
        server.terminate()
        server.wait(timeout=10)
    database = "PostgreSQL" if "DATABASE_URL" in os.environ else "SQLite"
    print(f"{database}, gunicorn {WORKERS} sync workers, {CLIENTS} client processes, {REQUESTS} requests each")
    print(f"{'endpoint':<18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs bare':>8}  path")
    bare = results[0][2]["rps"]
    for name, path, r in results:
        print(f"{name:<18} {r['rps']:8.0f} {r['p50']:8.2f} {r['p99']:8.2f} {r['rps'] / bare:8.2f}  {path}")


if __name__ == "__main__":
    main()

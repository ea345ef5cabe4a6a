"""The shared abuse limits: the client's address behind proxies, sliding-window counting with
several keys, the 429 message with the wait, the start-up check, and counts shared by processes."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from django.utils import translation

from hcm.lowcode import throttling
from hcm.lowcode.throttling import client_address, hit, parse_rate, throttled_message, wait_text

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def clock(monkeypatch):
    """The throttles' clock, moved by hand: counts never depend on how fast the test runs."""
    now = {"t": 1_800_000_000.0 - 1_800_000_000.0 % 86400}  # the start of a day, an hour, a minute

    monkeypatch.setattr(throttling, "_now", lambda: now["t"])
    return now


def request(remote: str = "198.51.100.7", forwarded: str | None = None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


# --- The client's address -----------------------------------------------------------------------


def test_by_default_the_address_is_the_sockets_and_forwarded_headers_are_ignored(settings):
    settings.HCM_TRUSTED_PROXIES = []

    assert client_address(request("198.51.100.7", forwarded="203.0.113.9")) == "198.51.100.7"
    assert client_address(request("198.51.100.7")) == "198.51.100.7"


def test_a_trusted_proxy_forwards_the_client_and_what_the_client_wrote_is_ignored(settings):
    settings.HCM_TRUSTED_PROXIES = ["10.0.0.0/8"]

    # The client wrote "1.2.3.4"; the load balancer (10.0.0.5) appended the address it saw.
    forged = request("10.0.0.5", forwarded="1.2.3.4, 203.0.113.9")
    two_proxies = request("10.0.0.5", forwarded="1.2.3.4, 203.0.113.9, 10.0.0.7")
    untrusted_peer = request("198.51.100.7", forwarded="203.0.113.9")

    assert client_address(forged) == "203.0.113.9"
    assert client_address(two_proxies) == "203.0.113.9"
    assert client_address(untrusted_peer) == "198.51.100.7"


def test_forwarded_hops_with_ports_ipv6_and_garbage(settings):
    settings.HCM_TRUSTED_PROXIES = ["127.0.0.1", "::1"]

    assert client_address(request("127.0.0.1", forwarded="203.0.113.9:41234")) == "203.0.113.9"
    assert client_address(request("::1", forwarded="[2001:db8::5]:443")) == "2001:db8::5"
    assert client_address(request("::ffff:127.0.0.1", forwarded="203.0.113.9")) == "203.0.113.9"
    # Garbage can only come from the client: the chain stops at the last hop a proxy wrote.
    assert client_address(request("127.0.0.1", forwarded="not-an-address")) == "127.0.0.1"
    assert client_address(request("127.0.0.1", forwarded="")) == "127.0.0.1"


def test_behind_a_unix_socket_the_proxy_is_trusted_only_when_configured(settings):
    settings.HCM_TRUSTED_PROXIES = []
    assert client_address(request("", forwarded="203.0.113.9")) is None

    settings.HCM_TRUSTED_PROXIES = ["unix"]
    assert client_address(request("", forwarded="1.2.3.4, 203.0.113.9")) == "203.0.113.9"
    assert client_address(request("", forwarded="")) is None
    assert client_address(request("198.51.100.7", forwarded="203.0.113.9")) == "198.51.100.7"


def test_ipv6_clients_are_counted_by_their_64_network(clock, settings):
    settings.HCM_RATES = {"probe": {"address": "2/min"}}

    answers = [hit("probe", {"address": throttling._address_key(f"2001:db8:1:2::{n}")}) for n in range(3)]

    assert answers[:2] == [None, None] and answers[2] is not None
    assert hit("probe", {"address": throttling._address_key("2001:db8:1:3::1")}) is None


# --- Counting -----------------------------------------------------------------------------------


def test_each_key_is_limited_on_its_own_and_a_refused_request_counts_under_none(clock, settings):
    settings.HCM_RATES = {"probe": {"account": "2/min", "address": "3/min"}}

    first = [hit("probe", {"account": "a", "address": "x"}) for _ in range(3)]
    other_account = hit("probe", {"account": "b", "address": "x"})  # the address's third
    address_full = hit("probe", {"account": "c", "address": "x"})
    elsewhere = hit("probe", {"account": "c", "address": "y"})

    assert first[:2] == [None, None] and first[2] is not None
    assert other_account is None and address_full is not None
    assert elsewhere is None  # "c" was refused at "x", so that attempt did not count for "c"


def test_the_window_slides_so_a_burst_at_its_edge_does_not_double_the_rate(clock, settings):
    settings.HCM_RATES = {"probe": {"account": "10/min"}}
    clock["t"] += 59  # the last second of a window

    burst = [hit("probe", {"account": "a"}) for _ in range(10)]
    clock["t"] += 2  # the next window: the ten still weigh 58/60 of themselves
    after_edge = hit("probe", {"account": "a"})
    clock["t"] += 29  # half-way through: the ten weigh five
    half_way = [hit("probe", {"account": "a"}) for _ in range(6)]

    assert burst == [None] * 10
    assert after_edge is not None
    assert half_way[:5] == [None] * 5 and half_way[5] is not None


def test_the_wait_is_when_one_more_request_fits(clock, settings):
    settings.HCM_RATES = {"probe": {"account": "2/min"}}
    clock["t"] += 15

    hit("probe", {"account": "a"})
    hit("probe", {"account": "a"})
    wait = hit("probe", {"account": "a"})
    clock["t"] += wait - 1
    still = hit("probe", {"account": "a"})
    clock["t"] += 1
    then = hit("probe", {"account": "a"})

    # Two in the window starting at 0 fall to one only half-way through the next: at 90 s.
    assert wait == 75
    assert still is not None and then is None


def test_keys_without_a_rate_and_empty_idents_are_not_counted(clock, settings):
    settings.HCM_RATES = {"probe": {"account": "1/min"}}

    assert hit("probe", {"account": "", "address": "x"}) is None
    assert hit("probe", {"address": "x"}) is None
    assert hit("nothing", {"account": "a"}) is None
    assert cache.get_many([f"hcm:limit:probe:address:x:{int(clock['t'] // 60)}"]) == {}


def test_rates_are_read_from_their_text():
    assert parse_rate("10/min") == throttling.Rate(10, 60)
    assert parse_rate("20/hour") == throttling.Rate(20, 3600)
    assert parse_rate("5/10m") == throttling.Rate(5, 600)
    assert parse_rate("3/day") == throttling.Rate(3, 86400)
    for wrong in ("ten/min", "10", "10/fortnight", "0/min"):
        with pytest.raises(Exception, match="Rate"):
            parse_rate(wrong)


# --- What the patient reads -------------------------------------------------------------------


def test_the_wait_is_written_in_chinese_and_rounded_up():
    with translation.override("zh-hans"):
        assert wait_text(0.2) == "1 秒"
        assert wait_text(45) == "45 秒"
        assert wait_text(75) == "2 分钟"
        assert wait_text(3600) == "1 小时"
        assert wait_text(3900) == "1 小时 5 分钟"
        assert throttled_message(75) == "尝试过于频繁，请 2 分钟后再试。"
        assert throttled_message(None) == "请求过于频繁，请稍后再试。"


def test_a_429_body_says_how_long_to_wait(api, db, clock, settings):
    settings.HCM_RATES = {**settings.HCM_RATES, "staff_sign_in": {"username": "1/hour"}}
    clock["t"] += 600
    api.post("/api/v1/staff/token/", {"username": "nobody", "password": "x"}, format="json")

    refused = api.post("/api/v1/staff/token/", {"username": "nobody", "password": "x"}, format="json")

    assert refused.status_code == 429
    assert refused.json() == {"code": "throttled", "message": "尝试过于频繁，请 1 小时 50 分钟后再试。", "fields": {}}
    assert refused["Retry-After"] == str(6600)


# --- Start-up ---------------------------------------------------------------------------------


def test_the_check_refuses_a_per_process_cache_and_bad_rates_when_debug_is_off(settings):
    settings.DEBUG = False
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.HCM_RATES = {**settings.HCM_RATES, "binding": {"account": "often"}}

    problems = throttling.check_limits()

    assert [p.id for p in problems] == ["lowcode.E001", "lowcode.E002"]
    settings.DEBUG = True
    assert [p.id for p in throttling.check_limits()] == ["lowcode.E001"]


# --- Two processes, one count -----------------------------------------------------------------

ATTEMPTS = """
import json, sys
import django
django.setup()
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory
from hcm.lowcode import throttling

throttling._now = lambda: float(sys.argv[3])
throttle = throttling.limit("staff_sign_in", by_account=False, targets=("username",))
answers = []
for n in range(int(sys.argv[1])):
    raw = APIRequestFactory().post(
        "/", {"username": "editor_a"}, format="json", REMOTE_ADDR=f"10.{sys.argv[2]}.0.{n + 1}"
    )
    answers.append(throttle().allow_request(Request(raw, parsers=[JSONParser()]), None))
print(json.dumps(answers))
"""


def _process_env(tmp_path: Path, prefix: str, **extra: str) -> dict:
    (tmp_path / "shared_cache_settings.py").write_text(
        "from hcm.settings import *  # noqa: F403\n"
        "from hcm.settings import CACHES\n\n"
        f"CACHES = {{'default': {{**CACHES['default'], 'KEY_PREFIX': {prefix!r}}}}}\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HCM_", "REDIS", "DATABASE_URL", "DJANGO"))}
    return {
        **clean,
        "DEBUG": "1",
        "HCM_VAR_DIR": str(tmp_path),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(tmp_path)]),
        "DJANGO_SETTINGS_MODULE": "shared_cache_settings",
        "HCM_RATE_STAFF_SIGN_IN_USERNAME": "10/hour",
        **extra,
    }


def _attempts(env: dict, count: int, process: int, now: float) -> list[bool]:
    done = subprocess.run(
        [sys.executable, "-c", ATTEMPTS, str(count), str(process), str(now)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _two_processes(env: dict) -> tuple[list[bool], list[bool]]:
    now = 1_800_000_000.0
    return _attempts(env, 6, 1, now), _attempts(env, 6, 2, now + 1)


def test_a_limit_holds_across_two_processes_sharing_a_redis_cache(tmp_path):
    redis = pytest.importorskip("redis")
    server = redis.Redis.from_url("redis://127.0.0.1:6379/14")
    try:
        server.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    prefix = f"hcm-test-{uuid.uuid4().hex}"
    env = _process_env(tmp_path, prefix, REDIS_URL="redis://127.0.0.1:6379/14")
    try:
        first, second = _two_processes(env)
        assert server.keys(f"{prefix}:*"), "the counts were not in Redis"
    finally:
        for key in server.scan_iter(f"{prefix}:*"):
            server.delete(key)

    # Ten an hour per username, each attempt from another address, the two processes together.
    assert first == [True] * 6
    assert second == [True] * 4 + [False] * 2


def test_a_limit_holds_across_two_processes_sharing_a_database_cache(tmp_path):
    env = _process_env(tmp_path, "hcm-test", HCM_DATABASE_CACHE="1")
    made = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "createcachetable"], env=env, capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr

    first, second = _two_processes(env)

    assert first == [True] * 6
    assert second == [True] * 4 + [False] * 2

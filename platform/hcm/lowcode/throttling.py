"""Abuse limits that hold across processes, and the client's address they count by.

A limited operation (a scope: staff sign-in, binding, ...) counts each request under several
keys at once: the signed-in account, the client's address and the target the request aims at
(a username, an ID number, a printed code). It is refused when any of them is over its rate,
`settings.HCM_RATES[scope][key]`, so neither a fresh account, nor a fresh address, nor spreading
guesses over many accounts gets around it. Counters live in the default cache, which production
must share between every process (settings refuse to start otherwise), and are sliding windows
made of two atomic counters, so a burst at a window's edge does not double the rate.

The client's address is the socket's unless the socket's peer is one of `HCM_TRUSTED_PROXIES`;
only then is `X-Forwarded-For` read, from the right, up to the first hop that is not a proxy.
"""

import hashlib
import hmac
import ipaddress
import math
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core import checks
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rest_framework.throttling import BaseThrottle

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
UNIX_SOCKET = "unix"  # in HCM_TRUSTED_PROXIES: the proxy on the other end of gunicorn's Unix socket
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


# --- The client's address -----------------------------------------------------------------------


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries if entry != UNIX_SOCKET)


def trusted_proxies() -> tuple:
    """The networks of `HCM_TRUSTED_PROXIES` (addresses or CIDR networks)."""
    return _networks(tuple(getattr(settings, "HCM_TRUSTED_PROXIES", ())))


def _is_proxy(address: Address | None) -> bool:
    if address is None:  # a Unix socket's peer has no address
        return UNIX_SOCKET in getattr(settings, "HCM_TRUSTED_PROXIES", ())
    return any(address in network for network in trusted_proxies())


def _host(text: str) -> str:
    """Some proxies write the client's port too: "203.0.113.5:41234", "[2001:db8::1]:41234"."""
    if text.startswith("[") and "]" in text:
        return text[1 : text.index("]")]
    if text.count(":") == 1:
        return text.split(":")[0]
    return text


def _parse(text: str | None) -> Address | None:
    try:
        return ipaddress.ip_address(_host((text or "").strip()))
    except ValueError:
        return None


def _normal(address: Address) -> Address:
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def client_address(request) -> str | None:
    """The client's address: the socket's, or the nearest untrusted hop a trusted proxy forwarded."""
    meta = getattr(request, "META", {})
    peer = _parse(meta.get("REMOTE_ADDR"))
    address = _normal(peer) if peer is not None else None
    if not _is_proxy(address):
        return str(address) if address is not None else None
    for hop in reversed(meta.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        parsed = _parse(hop)
        if parsed is None:  # a proxy never writes garbage: the client did; it ends the trusted chain
            break
        address = _normal(parsed)
        if not _is_proxy(address):
            break
    return str(address) if address is not None else None


def _address_key(address: str) -> str:
    """IPv6 clients get a whole /64 each, so they are counted by it, not by one of its addresses."""
    parsed = ipaddress.ip_address(address)
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return address


# --- Rates and counting -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


def parse_rate(text: str) -> Rate:
    """ "10/min", "20/hour", "5/10m": a count per period (s, m, h, d, optionally with a number)."""
    try:
        count, period = str(text).split("/")
        digits = period.rstrip("abcdefghijklmnopqrstuvwxyz")
        rate = Rate(int(count), int(digits or 1) * _UNITS[period[len(digits)]])
    except (ValueError, KeyError, IndexError):
        raise ImproperlyConfigured(f'Rate {text!r}: write a count per period, such as "10/min" or "20/hour".')
    if rate.count < 1 or rate.seconds < 1:
        raise ImproperlyConfigured(f"Rate {text!r}: the count and the period must be positive.")
    return rate


def rates_for(scope: str) -> dict[str, Rate]:
    """The rate of each key of `scope`; a key without a rate is not counted."""
    return {key: parse_rate(text) for key, text in settings.HCM_RATES.get(scope, {}).items()}


def _now() -> float:
    return time.time()


def _estimate(rate: Rate, previous: int, current: int, into: float) -> float:
    """The requests of the last period: the previous window's in proportion to what is left of it."""
    return previous * (rate.seconds - into) / rate.seconds + current


def _wait(rate: Rate, previous: int, current: int, into: float) -> float:
    """Seconds until one more request fits, if no other comes meanwhile (`into` the window)."""
    room, period = rate.count - 1, rate.seconds
    if current <= room:  # when the previous window's share has shrunk enough
        return max(0.0, period - period * (room - current) / previous - into) if previous else 0.0
    return period - into + period - period * room / current  # part-way into the next window


def _count(key: str, seconds: int) -> int:
    try:
        return cache.incr(key)
    except ValueError:  # the window's first request
        if cache.add(key, 1, timeout=2 * seconds):
            return 1
        return cache.incr(key)


def hit(scope: str, idents: dict[str, str]) -> float | None:
    """Count one request of `scope` under each key; None if allowed, else the seconds to wait.

    A request refused by one key counts under none, so hammering past a limit neither extends
    the wait nor uses up another key (a victim's username stays usable from their own address).
    """
    rates = rates_for(scope)
    idents = {key: ident for key, ident in idents.items() if ident and key in rates}
    now = _now()
    windows = {}
    for key, ident in idents.items():
        rate = rates[key]
        number = int(now // rate.seconds)
        base = f"hcm:limit:{scope}:{key}:{ident}"
        windows[key] = (rate, f"{base}:{number}", f"{base}:{number - 1}", now % rate.seconds)
    seen = cache.get_many([name for _, current, previous, _ in windows.values() for name in (current, previous)])
    waits = []
    for rate, current, previous, into in windows.values():
        counts = (int(seen.get(previous, 0)), int(seen.get(current, 0)))
        if _estimate(rate, *counts, into) + 1 > rate.count:
            waits.append(_wait(rate, *counts, into))
    if waits:
        return max(1.0, *waits)
    for rate, current, previous, into in windows.values():
        counted = _count(current, rate.seconds)  # atomic: concurrent requests cannot both take the last place
        earlier = int(seen.get(previous, 0))
        if _estimate(rate, earlier, counted, into) > rate.count:
            waits.append(_wait(rate, earlier, counted, into))
    return max(1.0, *waits) if waits else None


def _digest(scope: str, key: str, value: str) -> str:
    """Targets are ID numbers and phones: the cache holds a keyed digest, never the value."""
    message = f"{scope}:{key}:{value.strip().casefold()}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:32]


class Limit(BaseThrottle):
    """A DRF throttle counting a request of `scope` per account, per address and per target.

    Make one with `limit(...)`. Targets are fields of the request body; each is a key of its own
    (a binding counts by ID number and by phone). `when(request)` may spare requests that do not
    attempt what is limited (a payment without a password tries none).
    """

    scope = ""
    by_account = True
    targets: tuple[str, ...] = ()
    when = None

    def idents(self, request) -> dict[str, str]:
        idents = {}
        address = client_address(request)
        if address:
            idents["address"] = _address_key(address)
        user = getattr(request, "user", None) if self.by_account else None
        if user is not None and getattr(user, "is_authenticated", False):
            idents["account"] = f"{user._meta.label_lower}.{user.pk}"
        body = request.data if self.targets else {}
        for field in self.targets if isinstance(body, dict) else ():
            value = body.get(field)
            if isinstance(value, str) and value.strip():
                idents[field] = _digest(self.scope, field, value)
        return idents

    def allow_request(self, request, view) -> bool:
        self._wait = None
        if self.when is not None and not self.when(request):
            return True
        self._wait = hit(self.scope, self.idents(request))
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


def limit(scope: str, *, by_account: bool = True, targets: tuple[str, ...] = (), when=None) -> type[Limit]:
    """The throttle class of `scope` for a view's `throttle_classes`."""
    attributes = {"scope": scope, "by_account": by_account, "targets": tuple(targets)}
    if when is not None:
        attributes["when"] = staticmethod(when)
    return type(f"Limit[{scope}]", (Limit,), attributes)


def wait_text(seconds: float) -> str:
    """A wait as the patient reads it: "45 秒", "3 分钟", "1 小时 5 分钟" (always rounded up)."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 60:
        return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
    hours, minutes = divmod(minutes, 60)
    text = ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
    if minutes:
        rest = ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
        text = _("%(hours)s %(minutes)s") % {"hours": text, "minutes": rest}
    return text


def throttled_message(seconds: float | None) -> str:
    """The 429 message: how long to wait, when it is known."""
    if not seconds:
        return _("Too many requests; please try again later.")
    return _("Too many attempts; please try again in %(wait)s.") % {"wait": wait_text(seconds)}


PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.filebased.FileBasedCache",
}


def check_limits(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Every rate parses, and with DEBUG off the counters live in a cache all processes share."""
    problems = []
    for scope in settings.HCM_RATES:
        try:
            rates_for(scope)
        except ImproperlyConfigured as error:
            problems.append(checks.Error(f"HCM_RATES[{scope!r}]: {error}", id="lowcode.E001"))
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if not settings.DEBUG and backend in PER_PROCESS_CACHES:
        problems.append(
            checks.Error(
                f"The default cache ({backend}) is not shared by the processes of the deployment.",
                hint="Set REDIS_URL, or HCM_DATABASE_CACHE=1 and run `manage.py createcachetable`.",
                id="lowcode.E002",
            )
        )
    return problems

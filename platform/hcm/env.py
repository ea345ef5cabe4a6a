"""The one place that reads the process environment; settings import from here."""

import ipaddress
import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in _TRUE


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = env_str(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_required(name: str) -> str:
    value = env_str(name)
    if value is None:
        raise ImproperlyConfigured(f"The environment variable {name} must be set when DEBUG is off.")
    return value


def env_networks(name: str) -> list[str]:
    """Comma-separated addresses or CIDR networks (or `unix`: a Unix socket's peer), checked at start-up."""
    networks = env_list(name)
    for entry in networks:
        try:
            if entry != "unix":
                ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {entry!r} is not an address, a network such as 10.0.0.0/8, or unix (a Unix socket)."
            )
    return networks


def env_rates(defaults: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """Each rate of `defaults`, or the variable HCM_RATE_<SCOPE>_<KEY> that overrides it."""
    return {
        scope: {key: env_str(f"HCM_RATE_{scope}_{key}".upper(), rate) for key, rate in keys.items()}
        for scope, keys in defaults.items()
    }

"""Business numbers people read and quote (orders, payments, recharges, bookings, withdrawals).

A letter for the kind, the local time to the second, then random digits: sortable by time, hard
to guess, unique in practice (each model still has a unique constraint on its number).
"""

import secrets

from django.utils import timezone


def random_digits(count: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(count))


def new_number(prefix: str, *, digits: int = 6) -> str:
    """E.g. new_number("O") -> "O20261124093015482913"."""
    return prefix + timezone.localtime().strftime("%Y%m%d%H%M%S") + random_digits(digits)

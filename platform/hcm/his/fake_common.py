"""What every part of the fake HIS's data shares: its refusals and relative times in seeds."""

import re
from datetime import datetime, timedelta

_AGO = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


class FakeRefusal(Exception):
    """What the fake answers with a 4xx: {"code", "message"}."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def ago(value: object, *, field: str) -> timedelta:
    """A duration written "2d", "3h", "1d2h30m" (seeds say how long ago, so demos stay current)."""
    match = _AGO.match(str(value))
    if not value or match is None:
        raise ValueError(f'{field}: expected a duration such as "3h" or "2d", got {value!r}')
    days, hours, minutes = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def when(entry: dict, key: str, *, now: datetime) -> str:
    """An ISO datetime from `<key>_at`, or from `<key>_ago` ("2d", "3h", "1d2h30m") before now."""
    before = entry.get(f"{key}_ago")
    if before is None:
        return entry.get(f"{key}_at", now.isoformat())
    return (now - ago(before, field=f"{key}_ago")).isoformat()

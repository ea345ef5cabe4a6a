"""The JSON shape of doctors' schedule slots, both ways (see hcm.his.wire for the conventions).

Dates travel as "2026-03-02", times of day as "08:00", the fee as a string with two decimals.
"""

from datetime import date, time
from typing import Any

from hcm.his.contract import SESSIONS, HisScheduleSlot
from hcm.his.wire import WireError, _object, _text, money, money_text


def day(value: Any, *, field: str) -> date:
    if not isinstance(value, str):
        raise WireError(f'{field}: expected a date such as "2026-03-02", got {value!r}')
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise WireError(f'{field}: expected a date such as "2026-03-02", got {value!r}') from None


def time_of_day(value: Any, *, field: str) -> time:
    if not isinstance(value, str) or len(value) not in (5, 8):
        raise WireError(f'{field}: expected a time such as "08:30", got {value!r}')
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise WireError(f'{field}: expected a time such as "08:30", got {value!r}') from None


def count(value: Any, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise WireError(f"{field}: expected a whole number >= 0, got {value!r}")
    return value


def slot_to_wire(slot: HisScheduleSlot) -> dict:
    return {
        "his_slot_id": slot.his_slot_id,
        "doctor_code": slot.doctor_code,
        "doctor_name": slot.doctor_name,
        "department": slot.department,
        "date": slot.date.isoformat(),
        "session": slot.session,
        "start_time": slot.start_time.strftime("%H:%M"),
        "end_time": slot.end_time.strftime("%H:%M"),
        "capacity": slot.capacity,
        "fee": money_text(slot.fee),
    }


def slot_from_wire(data: Any) -> HisScheduleSlot:
    data = _object(data, field="slot")
    session = data.get("session")
    if session not in SESSIONS:
        raise WireError(f"session: expected one of {', '.join(SESSIONS)}, got {session!r}")
    start, end = (
        time_of_day(data.get("start_time"), field="start_time"),
        time_of_day(data.get("end_time"), field="end_time"),
    )
    if end <= start:
        raise WireError(f"end_time: expected a time after start_time {start:%H:%M}, got {end:%H:%M}")
    return HisScheduleSlot(
        his_slot_id=_text(data, "his_slot_id"),
        doctor_code=_text(data, "doctor_code"),
        doctor_name=_text(data, "doctor_name"),
        department=_text(data, "department"),
        date=day(data.get("date"), field="date"),
        session=session,
        start_time=start,
        end_time=end,
        capacity=count(data.get("capacity"), field="capacity"),
        fee=money(data.get("fee"), field="fee"),
    )

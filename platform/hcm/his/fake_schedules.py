"""The fake HIS's doctor schedules: weekly rotas expanded on demand, plus dated slots.

A seed document may hold a top-level "schedules" list. An entry with "weekdays" is a rota,
offering slots on every matching day, so a demo is always current:

    {"doctor_code", "doctor_name", "department", "weekdays": [1, 4] (Monday is 1),
     "sessions": ["morning", "afternoon", "evening"], "capacity" (per slot), "fee",
     "slot_minutes"? (default 60: the session's hours are cut into slots this long)}

Any other entry is one dated slot; one with the id of a rota's slot replaces it (a changed
capacity, or 0 for a cancelled clinic):

    {"his_slot_id"? (default <doctor_code>-<yyyymmdd>-<hhmm>), "doctor_code", "doctor_name",
     "department", "date": "2026-03-02" | "days_ahead": 1, "session", "start_time": "08:00",
     "end_time", "capacity", "fee"}

Sessions keep the hours in SESSION_HOURS.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from hcm.his import wire
from hcm.his.contract import SESSIONS, HisScheduleSlot
from hcm.his.fake_common import FakeRefusal
from hcm.his.wire_schedules import count, slot_from_wire

SESSION_HOURS = {
    "morning": (time(8, 0), time(12, 0)),
    "afternoon": (time(14, 0), time(17, 30)),
    "evening": (time(18, 30), time(21, 0)),
}
MAX_DAYS = 92  # the longest period one request may ask for


@dataclass(frozen=True)
class Rota:
    """A doctor's weekly clinic sessions."""

    doctor_code: str
    doctor_name: str
    department: str
    weekdays: frozenset[int]
    sessions: tuple[str, ...]
    capacity: int
    fee: Decimal
    slot_minutes: int = 60

    def slots_on(self, day: date) -> list[HisScheduleSlot]:
        if day.isoweekday() not in self.weekdays:
            return []
        return [slot for session in self.sessions for slot in self._cut(day, session)]

    def _cut(self, day: date, session: str) -> list[HisScheduleSlot]:
        opens, closes = (datetime.combine(day, moment) for moment in SESSION_HOURS[session])
        slots, start = [], opens
        while start < closes:
            end = min(start + timedelta(minutes=self.slot_minutes), closes)
            slots.append(
                HisScheduleSlot(
                    his_slot_id=f"{self.doctor_code}-{day:%Y%m%d}-{start:%H%M}",
                    doctor_code=self.doctor_code,
                    doctor_name=self.doctor_name,
                    department=self.department,
                    date=day,
                    session=session,
                    start_time=start.time(),
                    end_time=end.time(),
                    capacity=self.capacity,
                    fee=self.fee,
                )
            )
            start = end
        return slots


def seed_rota(entry: dict) -> Rota:
    weekdays, sessions = entry.get("weekdays"), entry.get("sessions", ["morning"])
    if not isinstance(weekdays, list) or not weekdays or not all(d in range(1, 8) for d in weekdays):
        raise ValueError(f"weekdays: expected days 1 (Monday) to 7, got {weekdays!r}")
    if not isinstance(sessions, list) or not sessions or not all(s in SESSIONS for s in sessions):
        raise ValueError(f"sessions: expected some of {', '.join(SESSIONS)}, got {sessions!r}")
    minutes = entry.get("slot_minutes", 60)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 10 <= minutes <= 300:
        raise ValueError(f"slot_minutes: expected 10 to 300, got {minutes!r}")
    return Rota(
        doctor_code=_required(entry, "doctor_code"),
        doctor_name=_required(entry, "doctor_name"),
        department=_required(entry, "department"),
        weekdays=frozenset(weekdays),
        sessions=tuple(sessions),
        capacity=count(entry.get("capacity"), field="capacity"),
        fee=wire.money(entry.get("fee"), field="fee"),
        slot_minutes=minutes,
    )


def seed_slot(entry: dict, *, today: date) -> HisScheduleSlot:
    ahead = entry.get("days_ahead")
    if ahead is not None:
        if isinstance(ahead, bool) or not isinstance(ahead, int):
            raise ValueError(f"days_ahead: expected a whole number of days, got {ahead!r}")
        entry = {**entry, "date": (today + timedelta(days=ahead)).isoformat()}
    start = str(entry.get("start_time", "")).replace(":", "")[:4]
    default_id = f"{entry.get('doctor_code')}-{str(entry.get('date', '')).replace('-', '')}-{start}"
    return slot_from_wire({"his_slot_id": default_id, **entry})


def _required(entry: dict, key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key}: expected a non-empty string, got {value!r}")
    return value


class ScheduleShelf:
    """The schedule part of FakeHisStore, which holds the lock, the clock and each hospital's
    data (`rotas`, `slots`) and provides `_hospital_data` and `_known`."""

    def add_schedules(self, hospital: str, entries: list) -> list[str]:
        """Rotas and dated slots of a seed document: the doctor codes of rotas, the ids of slots."""
        if not isinstance(entries, list):
            raise ValueError("schedules: expected a list")
        today = self.clock().date()
        parsed = [seed_rota(e) if "weekdays" in e else seed_slot(e, today=today) for e in entries]
        with self._lock:
            data = self._hospital_data(hospital)
            for entry in parsed:
                if isinstance(entry, Rota):
                    data.rotas.append(entry)
                else:
                    data.slots[entry.his_slot_id] = entry
        return [e.doctor_code if isinstance(e, Rota) else e.his_slot_id for e in parsed]

    def schedules(self, hospital: str, start: date, end: date) -> list[HisScheduleSlot]:
        """Every slot dated from start to end (both included), by date, start time and doctor."""
        if end < start or (end - start).days >= MAX_DAYS:
            raise FakeRefusal(400, "invalid_request", f"日期范围应为 1 至 {MAX_DAYS} 天")
        days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
        with self._lock:
            data = self._known(hospital)
            found = {slot.his_slot_id: slot for rota in data.rotas for day in days for slot in rota.slots_on(day)}
            found.update({key: slot for key, slot in data.slots.items() if start <= slot.date <= end})
        return sorted(found.values(), key=lambda s: (s.date, s.start_time, s.doctor_code, s.his_slot_id))

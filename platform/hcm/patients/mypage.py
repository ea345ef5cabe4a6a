"""The "my" page (MISSION A1) gathers what other apps know about the signed-in patient.

Apps below `patients` cannot be imported from here, so each registers what it adds: a count
(unpaid orders, upcoming appointments, new reports, cart items) or a section (the balance).
A count nobody registered yet is zero.
"""

from collections.abc import Callable

from hcm.patients.models import PatientRecord, WechatAccount

COUNTS = ("unpaid_orders", "upcoming_appointments", "new_reports", "cart_items")

Counter = Callable[[WechatAccount, PatientRecord | None], int]
Section = Callable[[WechatAccount, PatientRecord | None], dict]

_counters: dict[str, Counter] = {}
_sections: dict[str, Section] = {}


def register_count(name: str) -> Callable[[Counter], Counter]:
    if name not in COUNTS:
        raise ValueError(f"unknown my-page count {name!r}; add it to COUNTS")

    def decorate(func: Counter) -> Counter:
        _counters[name] = func
        return func

    return decorate


def register_section(name: str) -> Callable[[Section], Section]:
    def decorate(func: Section) -> Section:
        _sections[name] = func
        return func

    return decorate


def counts(account: WechatAccount, patient: PatientRecord | None) -> dict[str, int]:
    return {name: (_counters[name](account, patient) if name in _counters else 0) for name in COUNTS}


def sections(account: WechatAccount, patient: PatientRecord | None) -> dict[str, dict]:
    return {name: section(account, patient) for name, section in _sections.items()}

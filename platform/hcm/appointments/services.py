"""Writes of appointments: booking a doctor's slot or a checkup day, what the booking's
transitions do, booking blocks and operators' overrides of them.

Places are counted in the slot's (or day's) `booked` column: a booking locks the row, adds one
with F() only while it is below the capacity, and a check constraint backs that up, so no
interleaving of requests books more than the capacity. Cancelling gives the place back in the
cancelling transaction. Notifications are written to the outbox in the same transaction.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from hcm.appointments.models import (
    ACTIVE_STATES,
    Booking,
    BookingBlockOverride,
    BookingKind,
    BookingState,
    CheckupDay,
    ScheduleSlot,
    Session,
    before_cancel_deadline,
)
from hcm.appointments.selectors import booking_window
from hcm.catalog.selectors import product_for_sale
from hcm.content.models import Doctor, PublishState
from hcm.his.contract import adapter_for
from hcm.hospitals.models import Hospital
from hcm.lowcode.audit import audit_record
from hcm.lowcode.errors import DomainError
from hcm.lowcode.models import AuditEntry
from hcm.lowcode.numbers import new_number
from hcm.lowcode.transitions import TransitionRefused, transition_apply
from hcm.mall.models import Order, OrderState
from hcm.notifications.services import notify
from hcm.outpatient.services import BookingBlock, may_book
from hcm.patients import identity
from hcm.patients.models import PatientRecord, WechatAccount
from hcm.patients.selectors import require_current_patient

ZERO = Decimal("0.00")


class AppointmentRefused(DomainError):
    code = "appointment_refused"
    status = 409


# --- Who a booking is for ------------------------------------------------------------------


@dataclass(frozen=True)
class TypedPerson:
    """Details a patient typed in for someone not bound to their account."""

    name: str
    phone: str
    id_number: str


@dataclass(frozen=True)
class Person:
    name: str
    phone: str
    id_number: str  # typed details only; a bound record keeps its own
    key: str
    patient: PatientRecord | None = None  # the bound record the booking is for
    record: PatientRecord | None = None  # the hospital's record of a typed person, if it has one


def person_key(*, patient: PatientRecord | None = None, id_number: str = "") -> str:
    """One key per person however they were named: the keyed hash of the ID number, else the record."""
    if id_number:
        return "id:" + identity.lookup_hash(id_number)
    if patient.id_number_hash:
        return "id:" + patient.id_number_hash
    return f"record:{patient.pk}"


def _bound_person(patient: PatientRecord) -> Person:
    return Person(
        name=patient.name, phone=patient.phone, id_number="", key=person_key(patient=patient), patient=patient
    )


def _typed_person(hospital: Hospital, typed: TypedPerson) -> Person:
    errors = {}
    if not typed.name.strip():
        errors["name"] = [_("This field is required.")]
    for name, check in (("id_number", identity.validate_id_number), ("phone", identity.validate_phone)):
        try:
            check(getattr(typed, name))
        except ValidationError as error:
            errors[name] = list(error.messages)
    if errors:
        raise DomainError(_("Please correct the highlighted fields."), code="invalid", fields=errors)
    number = identity.normalize_id_number(typed.id_number)
    digest = identity.lookup_hash(number)
    record = PatientRecord.objects.filter(hospital=hospital, id_number_hash=digest).order_by("pk").first()
    return Person(
        name=typed.name.strip(), phone=typed.phone.strip(), id_number=number, key="id:" + digest, record=record
    )


def _person_for(*, account: WechatAccount, typed: TypedPerson | None, typed_allowed: bool) -> Person:
    if typed is None:
        return _bound_person(require_current_patient(account))
    if not typed_allowed:
        raise AppointmentRefused(
            _("This hospital takes bookings for bound people only; please bind the person first."),
            code="binding_required",
        )
    return _typed_person(account.hospital, typed)


# --- Booking blocks ----------------------------------------------------------------------------


def override_active(*, hospital: Hospital, key: str) -> bool:
    return BookingBlockOverride.objects.filter(hospital=hospital, person_key=key, until__gt=timezone.now()).exists()


def no_show_block(*, hospital: Hospital, key: str) -> BookingBlock | None:
    """The no-show rule (`appointments.no_show`): `limit` missed appointments within the last
    `window_days` days suspend online booking until enough of them leave the window (0: off)."""
    policy = hospital.settings.appointments.no_show
    if policy.limit == 0:
        return None
    window = timedelta(days=policy.window_days)
    missed = list(
        Booking.objects.filter(
            hospital=hospital, person_key=key, state=BookingState.NO_SHOW, starts_at__gte=timezone.now() - window
        )
        .order_by("-starts_at")
        .values_list("starts_at", flat=True)
    )
    if len(missed) < policy.limit:
        return None
    lifted = timezone.localtime(missed[policy.limit - 1] + window)
    return BookingBlock(
        code="too_many_no_shows",
        message=_(
            "You missed %(count)d appointments in the last %(days)d days, so online booking is "
            "suspended until %(date)s."
        )
        % {"count": len(missed), "days": policy.window_days, "date": lifted.strftime("%Y-%m-%d %H:%M")},
        action=_("To book sooner, please contact the hospital's service desk."),
    )


def booking_block(*, hospital: Hospital, person: Person) -> BookingBlock | None:
    """Why this person may not book now (unpaid pay-later bills, too many no-shows), or None.
    An operator's override for the person lifts every block while it lasts."""
    if override_active(hospital=hospital, key=person.key):
        return None
    record = person.patient or person.record
    block = may_book(patient=record) if record is not None else None
    return block or no_show_block(hospital=hospital, key=person.key)


def _refuse_if_blocked(hospital: Hospital, person: Person) -> None:
    block = booking_block(hospital=hospital, person=person)
    if block is not None:
        raise AppointmentRefused(block.message, code=block.code, fields={"action": [block.action]})


def block_override_grant(*, override: BookingBlockOverride, operator, request=None) -> BookingBlockOverride:
    """Let one person book despite any block until `override.until`, with the operator's reason;
    the override and its audit entry are written together."""
    if not override.reason.strip():
        raise DomainError(_("Give the reason for lifting the block."), fields={"reason": [_("Required.")]})
    if override.until <= timezone.now():
        raise DomainError(_("Choose a time in the future."), fields={"until": [_("Choose a time in the future.")]})
    with transaction.atomic():
        override.person_key = person_key(patient=override.patient)
        override.operator = operator if isinstance(operator, get_user_model()) else None
        override.save()
        audit_record(
            obj=override,
            action=AuditEntry.Action.OVERRIDE,
            actor=operator,
            request=request,
            detail={"operation": "lift_booking_block", "reason": override.reason, "until": override.until},
        )
    return override


def block_override_revoke(*, override: BookingBlockOverride, operator, request=None) -> None:
    """End an override before its time (the block applies again), with an audit entry."""
    with transaction.atomic():
        audit_record(
            obj=override,
            action=AuditEntry.Action.OVERRIDE,
            actor=operator,
            request=request,
            detail={"operation": "revoke_booking_block_override", "reason": override.reason},
        )
        BookingBlockOverride.objects.filter(pk=override.pk).delete()


# --- Booking ----------------------------------------------------------------------------------


def _number() -> str:
    return new_number("A")


def _take_place(model: type[ScheduleSlot] | type[CheckupDay], pk: int) -> None:
    """One more place taken, only while one is left (the row is locked by the caller)."""
    if not model.objects.filter(pk=pk, booked__lt=F("capacity")).update(booked=F("booked") + 1):
        raise AppointmentRefused(_("This time is fully booked; please choose another."), code="fully_booked")


def _release_place(booking: Booking) -> None:
    if booking.slot_id:
        ScheduleSlot.objects.filter(pk=booking.slot_id).update(booked=F("booked") - 1)
    if booking.checkup_day_id:
        CheckupDay.objects.filter(pk=booking.checkup_day_id).update(booked=F("booked") - 1)


def _check_open(hospital: Hospital, place: ScheduleSlot | CheckupDay) -> None:
    if not place.is_open or place.date not in booking_window(hospital) or place.starts_at <= timezone.now():
        raise AppointmentRefused(_("This time is not open for booking."), code="not_bookable")


def _insert(booking: Booking, duplicate: AppointmentRefused) -> Booking:
    try:
        with transaction.atomic():  # a savepoint: the unique constraints decide between concurrent twins
            booking.save(force_insert=True)
    except IntegrityError:
        raise duplicate from None
    return booking


def _duplicate_session() -> AppointmentRefused:
    return AppointmentRefused(
        _("This person already has a booking with this doctor in this session."), code="duplicate_booking"
    )


def booking_create_expert(*, account: WechatAccount, slot_id: int, typed: TypedPerson | None = None) -> Booking:
    """Book one place of a doctor's slot for the current bound person (or typed details where the
    hospital allows it): never beyond the capacity, one active booking per person and session."""
    hospital = account.hospital
    person = _person_for(
        account=account, typed=typed, typed_allowed=hospital.settings.appointments.allow_unbound_booking
    )
    _refuse_if_blocked(hospital, person)
    with transaction.atomic():
        slot = ScheduleSlot.objects.select_for_update().filter(hospital=hospital, pk=slot_id).first()
        if slot is None:
            raise AppointmentRefused(_("This time is not open for booking."), code="not_found", status=404)
        doctor = Doctor.objects.get(pk=slot.doctor_id)
        if doctor.state != PublishState.PUBLISHED:
            raise AppointmentRefused(_("This time is not open for booking."), code="not_bookable")
        _check_open(hospital, slot)
        active = Booking.objects.filter(
            doctor=doctor, date=slot.date, session=slot.session, person_key=person.key, state__in=ACTIVE_STATES
        )
        if active.exists():
            raise _duplicate_session()
        _take_place(ScheduleSlot, slot.pk)
        booking = _insert(
            _booking(hospital, account, person, BookingKind.EXPERT, place=slot, fee=slot.fee), _duplicate_session()
        )
        booking.doctor = doctor
        _tell(booking, "appointment_booked")
    return booking


def _booking(hospital, account, person: Person, kind: str, *, place, fee: Decimal, **extra) -> Booking:
    return Booking(
        hospital=hospital,
        number=_number(),
        kind=kind,
        account=account,
        patient=person.patient,
        person_name=person.name,
        person_phone=person.phone,
        person_id_number=person.id_number,
        person_key=person.key,
        slot=place if isinstance(place, ScheduleSlot) else None,
        doctor_id=place.doctor_id if isinstance(place, ScheduleSlot) else None,
        checkup_day=place if isinstance(place, CheckupDay) else None,
        date=place.date,
        session=getattr(place, "session", ""),
        starts_at=place.starts_at,
        ends_at=place.ends_at,
        fee=fee,
        **extra,
    )


def booking_create_checkup(
    *,
    account: WechatAccount,
    day_id: int,
    order_id: int | None = None,
    product_id: int | None = None,
    typed: TypedPerson | None = None,
) -> Booking:
    """Book a day of the checkup calendar for a paid checkup order (its person) or directly for a
    checkup product (the current bound person, or typed details: an unbound patient may book);
    never beyond the day's capacity, one active booking per person and day and per order."""
    hospital = account.hospital
    if (order_id is None) == (product_id is None):
        raise DomainError(_("Choose a paid checkup order or a checkup product."), fields={"order": [_("Required.")]})
    if order_id is not None:
        order = _paid_order(account, order_id)
        person, product, fee = _bound_person(order.patient), order.items.order_by("pk").first().product, ZERO
    else:
        order = None
        product = product_for_sale(hospital=hospital, product_id=product_id)
        if product is None:
            raise AppointmentRefused(_("This checkup is not available."), code="product_unavailable", status=404)
        person = _person_for(account=account, typed=typed, typed_allowed=True)
        fee = product.price
    _refuse_if_blocked(hospital, person)
    duplicate = AppointmentRefused(_("This person already has a checkup booked on this day."), code="duplicate_booking")
    with transaction.atomic():
        day = CheckupDay.objects.select_for_update().filter(hospital=hospital, pk=day_id).first()
        if day is None:
            raise AppointmentRefused(_("This day is not open for booking."), code="not_found", status=404)
        _check_open(hospital, day)
        if order is not None and Booking.objects.filter(order=order, state__in=ACTIVE_STATES).exists():
            raise AppointmentRefused(_("This order already has a checkup booked."), code="order_already_booked")
        if Booking.objects.filter(checkup_day=day, person_key=person.key, state__in=ACTIVE_STATES).exists():
            raise duplicate
        _take_place(CheckupDay, day.pk)
        booking = _insert(
            _booking(hospital, account, person, BookingKind.CHECKUP, place=day, fee=fee, product=product, order=order),
            duplicate,
        )
        _tell(booking, "appointment_booked")
    return booking


def _paid_order(account: WechatAccount, order_id: int) -> Order:
    order = Order.objects.select_related("patient").filter(
        hospital_id=account.hospital_id, account=account, pk=order_id
    )
    order = order.first()
    if order is None:
        raise AppointmentRefused(_("The requested item does not exist."), code="not_found", status=404)
    if order.state != OrderState.PAID:
        raise AppointmentRefused(_("Only a paid checkup order can be booked."), code="order_not_paid")
    return order


# --- What the booking's transitions do (hcm.lowcode.transitions: the booking is locked) --------


def booking_cancel(*, obj: Booking, actor, reason: str = "") -> Booking:
    """The patient cancels before the deadline: the place is free again at once."""
    obj.cancel(reason=reason or _("Cancelled by the patient"))
    obj.save()
    _release_place(obj)
    _tell(obj, "appointment_cancelled")
    return obj


def booking_cancel_by_operator(*, obj: Booking, actor, reason: str) -> Booking:
    """An operator cancels at any time, with the reason the patient is told; the place is freed."""
    obj.cancel_by_operator(reason=reason)
    obj.save()
    _release_place(obj)
    _tell(obj, "appointment_cancelled")
    return obj


def booking_cancel_by_patient(*, booking: Booking, account: WechatAccount, reason: str = "") -> Booking:
    """Cancel one of the account's own bookings, if the cancel deadline has not passed."""
    if booking.account_id != account.pk:
        raise AppointmentRefused(_("The requested item does not exist."), code="not_found", status=404)
    if booking.state == BookingState.BOOKED and not before_cancel_deadline(booking):
        raise AppointmentRefused(str(before_cancel_deadline.refusal_message), code="cancel_deadline_passed", fields={})
    try:
        return transition_apply(obj=booking, name="cancel", actor=account, data={"reason": reason})
    except TransitionRefused as refused:
        raise AppointmentRefused(refused.reason, code=refused.code) from None


# --- Notifications ----------------------------------------------------------------------------


def booking_summary(booking: Booking) -> dict[str, str]:
    """What WeChat template messages about a booking say."""
    start, end = timezone.localtime(booking.starts_at), timezone.localtime(booking.ends_at)
    data = {
        "number": booking.number,
        "person": booking.masked_person_name,
        "subject": booking.subject,
        "time": f"{start:%Y-%m-%d %H:%M}-{end:%H:%M}",
        "fee": f"{booking.fee:.2f} 元",
    }
    if booking.cancel_reason:
        data["reason"] = booking.cancel_reason
    return data


def _tell(booking: Booking, event: str) -> None:
    notify(
        hospital=booking.hospital,
        account=booking.account,
        event=event,
        data=booking_summary(booking),
        dedupe_key=f"{event}:{booking.number}",
    )


# --- Schedules from the HIS ---------------------------------------------------------------------

SYNCED_FIELDS = [
    "his_slot_id",
    "doctor",
    "date",
    "session",
    "start_time",
    "end_time",
    "capacity",
    "fee",
    "is_open",
    "updated_at",
]


@dataclass(frozen=True)
class SyncResult:
    created: int
    updated: int
    closed: int  # slots the HIS no longer lists: closed for booking, their bookings kept
    unknown_doctors: int  # slots skipped because no doctor of that name is on the site
    invalid: int  # slots skipped because the HIS sent impossible values
    unknown_names: tuple[str, ...] = ()


def _valid(slot) -> bool:
    return (
        slot.session in Session.values
        and slot.end_time > slot.start_time
        and slot.capacity >= 0
        and slot.fee >= 0
        and bool(slot.his_slot_id)
    )


def schedule_sync(*, hospital: Hospital) -> SyncResult:
    """Bring the hospital's slots in the booking window in line with the HIS's schedules: upsert
    by HIS slot id (a slot imported by hand at the same doctor and time is taken over), never
    lowering a capacity below the places already booked, closing slots the HIS dropped. Doctors
    are matched by name within the hospital; slots of unknown doctors are skipped and counted."""
    window = booking_window(hospital)
    listed = adapter_for(hospital).doctor_schedules(start=window.first, end=window.last)  # no lock held
    doctors = {d.name: d for d in Doctor.objects.filter(hospital=hospital, name__in={s.doctor_name for s in listed})}
    valid = [s for s in listed if _valid(s)]
    known = [s for s in valid if s.doctor_name in doctors]
    unknown_names = sorted({s.doctor_name for s in valid if s.doctor_name not in doctors})
    with transaction.atomic():
        slots = ScheduleSlot.objects.select_for_update().filter(hospital=hospital).order_by("pk")
        by_his_id = {slot.his_slot_id: slot for slot in slots.filter(his_slot_id__in=[s.his_slot_id for s in known])}
        by_time = {
            (slot.doctor_id, slot.date, slot.start_time): slot
            for slot in slots.filter(his_slot_id="", date__gte=window.first, date__lte=window.last)
        }
        created, updated = [], []
        for his in known:
            doctor = doctors[his.doctor_name]
            slot = by_his_id.get(his.his_slot_id) or by_time.pop((doctor.pk, his.date, his.start_time), None)
            values = {
                "his_slot_id": his.his_slot_id,
                "doctor": doctor,
                "date": his.date,
                "session": his.session,
                "start_time": his.start_time,
                "end_time": his.end_time,
                "fee": his.fee,
                "is_open": True,
            }
            if slot is None:
                created.append(ScheduleSlot(hospital=hospital, capacity=his.capacity, booked=0, **values))
                continue
            for name, value in values.items():
                setattr(slot, name, value)
            slot.capacity = max(his.capacity, slot.booked)  # booked is current: the row is locked
            slot.updated_at = timezone.now()
            updated.append(slot)
        ScheduleSlot.objects.bulk_update(updated, SYNCED_FIELDS, batch_size=500)
        ScheduleSlot.objects.bulk_create(created, batch_size=500)
        closed = (
            ScheduleSlot.objects.filter(hospital=hospital, is_open=True, date__gte=window.first, date__lte=window.last)
            .exclude(his_slot_id="")
            .exclude(his_slot_id__in=[s.his_slot_id for s in listed])
            .update(is_open=False, updated_at=timezone.now())
        )
    return SyncResult(
        created=len(created),
        updated=len(updated),
        closed=closed,
        unknown_doctors=len(valid) - len(known),
        invalid=len(listed) - len(valid),
        unknown_names=tuple(unknown_names),
    )

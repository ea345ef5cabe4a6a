"""Appointments (MISSION A5): doctors' schedules, the checkup calendar, bookings and block overrides.

A `ScheduleSlot` is one bookable time of one doctor on one day and session, with a capacity and
a fee; a `CheckupDay` is one day of the checkup centre with a daily capacity. Each keeps a
`booked` counter that only the booking services change (with F() under the row's lock), and a
database constraint keeps it within the capacity whatever the interleaving.

A `Booking` is an expert booking (a slot) or a checkup booking (a day, for a paid order or a
checkup product). Its state machine:

    booked -> checked_in -> completed
    booked -> cancelled        (the patient before the cancel deadline; an operator with a reason)
    booked -> no_show          (an operator once it started; the sweep after the session ends)

A cancelled booking gives its place back in the same transaction.
"""

from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from hcm.lowcode.transitions import condition
from hcm.patients import identity
from hcm.patients.fields import EncryptedCharField

MONEY = {"max_digits": 12, "decimal_places": 2}


class Session(models.TextChoices):
    MORNING = "morning", _("Morning")
    AFTERNOON = "afternoon", _("Afternoon")
    EVENING = "evening", _("Evening")


class CountedCapacity(models.Model):
    """A capacity and the number of places taken, validated on every save.

    `booked` is never written by save(): the booking services change it with F() under the
    row's lock, and an admin or API edit of the capacity must not write back a stale count.
    """

    capacity = models.PositiveIntegerField(_("capacity"))
    booked = models.PositiveIntegerField(_("booked"), default=0, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            current = type(self)._default_manager.filter(pk=self.pk).values_list("booked", flat=True).first()
            self.booked = self.booked if current is None else current
            if kwargs.get("update_fields") is None:
                kwargs["update_fields"] = [
                    f.name for f in self._meta.concrete_fields if not f.primary_key and f.name != "booked"
                ]
        self.clean()
        self.validate_constraints()
        super().save(*args, **kwargs)

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.booked, 0)

    remaining.fget.short_description = _("places left")


class ScheduleSlot(CountedCapacity):
    """One bookable time of a doctor: imported by operators or synchronised from the HIS."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    doctor = models.ForeignKey(
        "content.Doctor", on_delete=models.CASCADE, related_name="schedule_slots", verbose_name=_("doctor")
    )
    date = models.DateField(_("date"))
    session = models.CharField(_("session"), max_length=16, choices=Session.choices)
    start_time = models.TimeField(_("start time"))
    end_time = models.TimeField(_("end time"))
    fee = models.DecimalField(_("fee"), **MONEY)
    is_open = models.BooleanField(_("open for booking"), default=True)
    his_slot_id = models.CharField(
        _("HIS slot id"), max_length=64, blank=True, help_text=_("Set for slots synchronised from the HIS.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("schedule slot")
        verbose_name_plural = _("schedule slots")
        ordering = ["date", "start_time", "doctor", "pk"]
        indexes = [models.Index(fields=["hospital", "doctor", "date"])]
        constraints = [
            models.UniqueConstraint(
                fields=["doctor", "date", "start_time"],
                name="schedule_slot_unique_time",
                violation_error_message=_("This doctor already has a slot starting at this time."),
            ),
            models.UniqueConstraint(
                fields=["hospital", "his_slot_id"], condition=~Q(his_slot_id=""), name="schedule_slot_unique_his_id"
            ),
            models.CheckConstraint(
                condition=Q(booked__lte=F("capacity")),
                name="schedule_slot_booked_within_capacity",
                violation_error_message=_("The capacity cannot be lower than the places already booked."),
            ),
            models.CheckConstraint(
                condition=Q(end_time__gt=F("start_time")),
                name="schedule_slot_ends_after_start",
                violation_error_message=_("The end time must be after the start time."),
            ),
            models.CheckConstraint(
                condition=Q(fee__gte=0),
                name="schedule_slot_fee_not_negative",
                violation_error_message=_("The fee cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.doctor} {self.date} {self.start_time:%H:%M}"

    @property
    def starts_at(self) -> datetime:
        return _aware(self.date, self.start_time)

    @property
    def ends_at(self) -> datetime:
        return _aware(self.date, self.end_time)

    def clean(self) -> None:
        if self.capacity is not None and self.booked is not None and self.capacity < self.booked:
            raise ValidationError({"capacity": _("The capacity cannot be lower than the places already booked.")})


class CheckupDay(CountedCapacity):
    """A day of the checkup centre's calendar and how many checkups it takes."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    date = models.DateField(_("date"))
    start_time = models.TimeField(_("arrive from"), default=time(7, 30))
    end_time = models.TimeField(_("arrive by"), default=time(10, 30))
    is_open = models.BooleanField(_("open for booking"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("checkup day")
        verbose_name_plural = _("checkup calendar")
        ordering = ["date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["hospital", "date"],
                name="checkup_day_unique_date",
                violation_error_message=_("This day is already in the calendar."),
            ),
            models.CheckConstraint(
                condition=Q(booked__lte=F("capacity")),
                name="checkup_day_booked_within_capacity",
                violation_error_message=_("The capacity cannot be lower than the places already booked."),
            ),
            models.CheckConstraint(
                condition=Q(end_time__gt=F("start_time")),
                name="checkup_day_ends_after_start",
                violation_error_message=_("The end time must be after the start time."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date}"

    @property
    def starts_at(self) -> datetime:
        return _aware(self.date, self.start_time)

    @property
    def ends_at(self) -> datetime:
        return _aware(self.date, self.end_time)

    def clean(self) -> None:
        if self.capacity is not None and self.booked is not None and self.capacity < self.booked:
            raise ValidationError({"capacity": _("The capacity cannot be lower than the places already booked.")})


def _aware(day, at: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, at))


class BookingKind(models.TextChoices):
    EXPERT = "expert", _("Expert appointment")
    CHECKUP = "checkup", _("Checkup appointment")


class BookingState(models.TextChoices):
    BOOKED = "booked", _("Booked")
    CHECKED_IN = "checked_in", _("Checked in")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    NO_SHOW = "no_show", _("No-show")


# A person holds at most one of these per doctor session (and per checkup day, per order).
ACTIVE_STATES = (BookingState.BOOKED, BookingState.CHECKED_IN)


def cancel_deadline(booking: "Booking") -> datetime:
    """Until when the patient may cancel: the configured time before the appointment starts."""
    return booking.starts_at - booking.hospital.settings.appointments.cancel_deadline


@condition(_("It is too late to cancel online; please contact the hospital."))
def before_cancel_deadline(booking: "Booking") -> bool:
    return timezone.now() < cancel_deadline(booking)


@condition(_("The appointment has not started yet."))
def has_started(booking: "Booking") -> bool:
    return booking.starts_at <= timezone.now()


@condition(_("Check-in opens on the day of the appointment."))
def day_has_come(booking: "Booking") -> bool:
    return timezone.localdate() >= timezone.localtime(booking.starts_at).date()


class Booking(FSMModelMixin, models.Model):
    """An expert or checkup booking of one person, made by one WeChat account."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    number = models.CharField(_("booking number"), max_length=32, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=BookingKind.choices, editable=False)
    state = FSMField(_("status"), default=BookingState.BOOKED, choices=BookingState.choices, protected=True)
    account = models.ForeignKey(
        "patients.WechatAccount", on_delete=models.PROTECT, related_name="bookings", verbose_name=_("WeChat account")
    )
    patient = models.ForeignKey(
        "patients.PatientRecord",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bookings",
        verbose_name=_("patient record"),
        help_text=_("Empty when the person's details were typed in without binding."),
    )
    person_name = models.CharField(_("full name"), max_length=50, editable=False)
    person_phone = models.CharField(_("phone"), max_length=11, blank=True, editable=False)
    person_id_number = EncryptedCharField(_("ID number"), max_length=18, blank=True, editable=False)
    # Who the booking is for, whatever way they were named: "id:<keyed hash of the ID number>",
    # or "record:<pk>" for a record without one. Duplicates and no-shows are counted by it.
    person_key = models.CharField(max_length=80, editable=False, db_index=True)
    slot = models.ForeignKey(
        ScheduleSlot,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bookings",
        verbose_name=_("schedule slot"),
    )
    doctor = models.ForeignKey(
        "content.Doctor",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bookings",
        verbose_name=_("doctor"),
    )
    checkup_day = models.ForeignKey(
        CheckupDay,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bookings",
        verbose_name=_("checkup day"),
    )
    product = models.ForeignKey(
        "catalog.Product",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("checkup product"),
    )
    order = models.ForeignKey(
        "mall.Order",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bookings",
        verbose_name=_("order"),
    )
    date = models.DateField(_("date"), editable=False)
    session = models.CharField(_("session"), max_length=16, choices=Session.choices, blank=True, editable=False)
    starts_at = models.DateTimeField(_("starts at"), editable=False)
    ends_at = models.DateTimeField(_("ends at"), editable=False)
    fee = models.DecimalField(_("fee"), editable=False, **MONEY)
    cancel_reason = models.CharField(_("cancel reason"), max_length=200, blank=True, editable=False)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True, editable=False)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("booked at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        ordering = ["-starts_at", "-pk"]
        indexes = [
            models.Index(fields=["account", "state", "starts_at"]),
            models.Index(fields=["hospital", "state", "ends_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["doctor", "date", "session", "person_key"],
                condition=Q(state__in=ACTIVE_STATES, doctor__isnull=False),
                name="booking_one_per_person_doctor_session",
            ),
            models.UniqueConstraint(
                fields=["checkup_day", "person_key"],
                condition=Q(state__in=ACTIVE_STATES, checkup_day__isnull=False),
                name="booking_one_checkup_per_person_day",
            ),
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(state__in=ACTIVE_STATES, order__isnull=False),
                name="booking_one_active_per_order",
            ),
            models.CheckConstraint(
                condition=Q(kind=BookingKind.EXPERT, slot__isnull=False, doctor__isnull=False)
                | Q(kind=BookingKind.CHECKUP, checkup_day__isnull=False),
                name="booking_kind_has_its_place",
            ),
            models.CheckConstraint(condition=Q(fee__gte=0), name="booking_fee_not_negative"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def masked_person_name(self) -> str:
        return identity.mask_name(self.person_name)

    @property
    def masked_person_phone(self) -> str:
        return identity.mask_phone(self.person_phone) if self.person_phone else ""

    masked_person_name.fget.short_description = _("full name")
    masked_person_phone.fget.short_description = _("phone")

    @property
    def subject(self) -> str:
        """What the booking is for, as the patient reads it: the doctor, or the checkup."""
        if self.kind == BookingKind.EXPERT:
            return str(self.doctor) if self.doctor_id else ""
        return self.product.name if self.product_id else str(_("Health checkup"))

    @transition(
        field=state,
        source=BookingState.BOOKED,
        target=BookingState.CHECKED_IN,
        conditions=[day_has_come],
        custom={"label": _("Check in")},
    )
    def check_in(self) -> None:
        self.checked_in_at = timezone.now()

    @transition(
        field=state, source=BookingState.CHECKED_IN, target=BookingState.COMPLETED, custom={"label": _("Complete")}
    )
    def complete(self) -> None:
        self.completed_at = timezone.now()

    @transition(
        field=state,
        source=BookingState.BOOKED,
        target=BookingState.CANCELLED,
        conditions=[before_cancel_deadline],
        custom={
            "label": _("Cancel the appointment"),
            "form": "hcm.appointments.forms.OptionalReasonForm",
            "service": "hcm.appointments.services.booking_cancel",
            # The patient's own: through hcm.appointments.api (services.booking_cancel_by_patient).
            "admin": False,
            "api": False,
        },
    )
    def cancel(self, reason: str = "") -> None:
        self.cancel_reason = reason
        self.cancelled_at = timezone.now()

    @transition(
        field=state,
        source=BookingState.BOOKED,
        target=BookingState.CANCELLED,
        custom={
            "label": _("Cancel for the patient"),
            "form": "hcm.appointments.forms.ReasonForm",
            "service": "hcm.appointments.services.booking_cancel_by_operator",
        },
    )
    def cancel_by_operator(self, reason: str) -> None:
        self.cancel_reason = reason
        self.cancelled_at = timezone.now()

    @transition(
        field=state,
        source=BookingState.BOOKED,
        target=BookingState.NO_SHOW,
        conditions=[has_started],
        custom={"label": _("Mark as no-show")},
    )
    def mark_no_show(self) -> None:
        pass


def default_override_until() -> datetime:
    return timezone.now() + timedelta(days=7)


class BookingBlockOverride(models.Model):
    """An operator lets one person book despite a booking block (no-shows, unpaid bills) until then."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    patient = models.ForeignKey(
        "patients.PatientRecord",
        on_delete=models.CASCADE,
        related_name="booking_block_overrides",
        verbose_name=_("patient record"),
    )
    person_key = models.CharField(max_length=80, editable=False, db_index=True)
    reason = models.CharField(_("reason"), max_length=200)
    until = models.DateTimeField(_("valid until"), default=default_override_until)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        verbose_name=_("operator"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("booking block override")
        verbose_name_plural = _("booking block overrides")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["hospital", "person_key", "until"])]

    def __str__(self) -> str:
        return f"{self.patient} → {self.until:%Y-%m-%d %H:%M}" if self.until else str(self.patient)

    def clean(self) -> None:
        if self.until is not None and self.until <= timezone.now():
            raise ValidationError({"until": _("Choose a time in the future.")})

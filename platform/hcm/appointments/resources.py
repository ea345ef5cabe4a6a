"""Appointments in the admin (the schedule per doctor and day, bookings with their transitions,
the checkup calendar, block overrides) and the staff API. Patients book and see their bookings
through the hand-written endpoints of hcm.appointments.api."""

from hcm.appointments.admin import (
    BookingAdminMixin,
    BookingBlockOverrideAdminMixin,
    CheckupDayAdminMixin,
    ScheduleSlotAdminMixin,
    ScheduleSlotImportMixin,
)
from hcm.appointments.models import Booking, BookingBlockOverride, CheckupDay, ScheduleSlot
from hcm.lowcode.declarations import ALL_OPERATIONS, Resource, Scope, register


@register
class ScheduleSlotResource(Resource):
    model = ScheduleSlot
    slug = "schedule-slots"
    feature = "appointments"
    list_display = [
        "date",
        "session",
        "start_time",
        "end_time",
        "doctor",
        "capacity",
        "booked",
        "remaining",
        "fee",
        "is_open",
        "hospital",
    ]
    list_filter = ["doctor", "date", "session", "is_open", "hospital"]
    search_fields = ["doctor__name"]
    ordering = ["date", "start_time", "doctor"]
    select_related = ["doctor"]
    readonly_fields = ["booked", "his_slot_id", "created_at", "updated_at"]
    import_fields = ["doctor", "date", "session", "start_time", "end_time", "capacity", "fee", "is_open"]
    import_id_fields = ["hospital", "doctor", "date", "start_time"]
    admin_mixins = [ScheduleSlotAdminMixin]
    resource_mixins = [ScheduleSlotImportMixin]
    staff = Scope(
        fields=[
            "id",
            "doctor",
            "doctor.name",
            "date",
            "session",
            "start_time",
            "end_time",
            "capacity",
            "booked",
            "remaining",
            "fee",
            "is_open",
            "his_slot_id",
            "updated_at",
        ],
        read_only=["booked", "his_slot_id", "updated_at"],
        operations=ALL_OPERATIONS,
        filters=["doctor", "date", "session", "is_open"],
        ordering=["date", "start_time"],
    )


@register
class CheckupDayResource(Resource):
    model = CheckupDay
    slug = "checkup-days"
    feature = "appointments"
    list_display = ["date", "start_time", "end_time", "capacity", "booked", "remaining", "is_open", "hospital"]
    list_filter = ["date", "is_open", "hospital"]
    ordering = ["date"]
    readonly_fields = ["booked", "created_at", "updated_at"]
    import_fields = ["date", "start_time", "end_time", "capacity", "is_open"]
    import_id_fields = ["hospital", "date"]
    admin_mixins = [CheckupDayAdminMixin]
    staff = Scope(
        fields=["id", "date", "start_time", "end_time", "capacity", "booked", "remaining", "is_open"],
        read_only=["booked"],
        operations=ALL_OPERATIONS,
        filters=["date", "is_open"],
        ordering=["date"],
    )


_BOOKING_FIELDS = [
    "id",
    "number",
    "kind",
    "state",
    "masked_person_name",
    "masked_person_phone",
    "patient",
    "doctor",
    "doctor.name",
    "slot",
    "checkup_day",
    "product",
    "order",
    "date",
    "session",
    "starts_at",
    "ends_at",
    "fee",
    "cancel_reason",
    "cancelled_at",
    "checked_in_at",
    "completed_at",
    "created_at",
]


@register
class BookingResource(Resource):
    model = Booking
    feature = "appointments"
    list_display = [
        "number",
        "kind",
        "masked_person_name",
        "doctor",
        "date",
        "session",
        "starts_at",
        "state",
        "hospital",
    ]
    list_filter = ["state", "kind", "doctor", "date", "session", "hospital"]
    search_fields = ["number", "patient__medical_card_number", "person_phone"]
    select_related = ["doctor", "product", "patient"]
    readonly_fields = [
        "number",
        "kind",
        "state",
        "masked_person_name",
        "masked_person_phone",
        "account",
        "patient",
        "doctor",
        "slot",
        "checkup_day",
        "product",
        "order",
        "date",
        "session",
        "starts_at",
        "ends_at",
        "fee",
        "cancel_reason",
        "cancelled_at",
        "checked_in_at",
        "completed_at",
        "created_at",
    ]
    import_fields = [
        "number",
        "kind",
        "state",
        "doctor",
        "product",
        "patient",
        "date",
        "session",
        "starts_at",
        "fee",
        "cancel_reason",
        "created_at",
    ]
    import_id_fields = ["number"]
    made_by_services = True  # by patients booking (one added here would skip capacity and blocks)
    admin_mixins = [BookingAdminMixin]
    staff = Scope(
        fields=[*_BOOKING_FIELDS, "account"],
        transitions=True,
        filters=["state", "kind", "doctor", "date", "session", "patient"],
        search=["number"],
    )


@register
class BookingBlockOverrideResource(Resource):
    model = BookingBlockOverride
    slug = "booking-block-overrides"
    feature = "appointments"
    list_display = ["patient", "reason", "until", "operator", "created_at", "hospital"]
    list_filter = ["until", "hospital"]
    search_fields = ["patient__medical_card_number", "reason"]
    select_related = ["patient", "operator"]
    readonly_fields = ["operator", "created_at"]
    autocomplete_fields = ["patient"]
    admin_mixins = [BookingBlockOverrideAdminMixin]
    staff = Scope(
        fields=["id", "patient", "patient.medical_card_number", "reason", "until", "operator", "created_at"],
        filters=["patient"],
    )

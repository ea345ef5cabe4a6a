"""Appointment endpoints (MISSION A5), mounted under /api/v1/<hospital>/:

  public/doctors/<id>/schedule/           a doctor's slots in the booking window, places left
  public/appointments/checkup-days/       the checkup calendar in the booking window
  patient/appointments/expert/            book a doctor's slot
  patient/appointments/checkup/           book a checkup day (paid order or checkup product)
  patient/appointments/?when=upcoming     my appointments (upcoming or past), detail, cancel

Operators manage schedules, the calendar, bookings and overrides through the generated staff
API and admin (resources.py).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from hcm.appointments import selectors, services
from hcm.appointments.models import Booking, BookingKind, BookingState, CheckupDay, ScheduleSlot
from hcm.content.models import Doctor
from hcm.lowcode.api import ERROR_RESPONSE, HOSPITAL_PARAMETER
from hcm.lowcode.pagination import PageNumberPagination
from hcm.lowcode.scoping import HospitalScopedMixin
from hcm.lowcode.serializers import ModelSerializer, serializer_for
from hcm.patients import identity
from hcm.patients.api import PatientEndpoint
from hcm.patients.models import Binding

PUBLIC_TAG = "public · appointments"
PATIENT_TAG = "patient · appointments"
MONEY = {"max_digits": 12, "decimal_places": 2}


# --- Public: schedules and the checkup calendar ---------------------------------------------------


class SlotSerializer(ModelSerializer):
    session_label = serializers.CharField(source="get_session_display", read_only=True)
    remaining = serializers.IntegerField(read_only=True, help_text="Places left.")
    available = serializers.SerializerMethodField()

    class Meta:
        model = ScheduleSlot
        fields = ["id", "date", "session", "session_label", "start_time", "end_time", "fee", "remaining", "available"]

    def get_available(self, slot: ScheduleSlot) -> bool:
        return slot.remaining > 0


class ScheduleDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    weekday = serializers.IntegerField(help_text="1 = Monday ... 7 = Sunday.")
    slots = SlotSerializer(many=True)


class DoctorScheduleSerializer(serializers.Serializer):
    doctor = serializer_for(Doctor, "public", rows=True)()
    first_day = serializers.DateField()
    last_day = serializers.DateField()
    days = ScheduleDaySerializer(many=True, help_text="Days with at least one slot, in date order.")


class CheckupDaySerializer(ModelSerializer):
    remaining = serializers.IntegerField(read_only=True, help_text="Places left.")
    available = serializers.SerializerMethodField()

    class Meta:
        model = CheckupDay
        fields = ["id", "date", "start_time", "end_time", "remaining", "available"]

    def get_available(self, day: CheckupDay) -> bool:
        return day.remaining > 0


def _by_day(slots: list[ScheduleSlot]) -> list[dict]:
    days: dict = {}
    for slot in slots:
        days.setdefault(slot.date, []).append(slot)
    return [{"date": day, "weekday": day.isoweekday(), "slots": rows} for day, rows in days.items()]


class PublicEndpoint(HospitalScopedMixin):
    feature = "appointments"
    authentication_classes = []
    permission_classes = [AllowAny]


class DoctorScheduleView(PublicEndpoint, APIView):
    @extend_schema(
        tags=[PUBLIC_TAG],
        summary="A doctor's schedule in the booking window, with the places left in each slot",
        parameters=[HOSPITAL_PARAMETER],
        responses={200: DoctorScheduleSerializer, 404: ERROR_RESPONSE},
    )
    def get(self, request, hospital: str, pk: int):
        doctor = selectors.published_doctor(hospital=self.hospital, doctor_id=pk)
        if doctor is None:
            raise NotFound(_("The requested item does not exist."))
        window = selectors.booking_window(self.hospital)
        slots = selectors.doctor_schedule(hospital=self.hospital, doctor=doctor)
        body = {"doctor": doctor, "first_day": window.first, "last_day": window.last, "days": _by_day(slots)}
        return Response(DoctorScheduleSerializer(body, context={"request": request}).data)


class CheckupDaysView(PublicEndpoint, APIView):
    @extend_schema(
        tags=[PUBLIC_TAG],
        summary="The checkup calendar's open days in the booking window, with the places left",
        parameters=[HOSPITAL_PARAMETER],
        responses={200: CheckupDaySerializer(many=True)},
    )
    def get(self, request, hospital: str):
        return Response(CheckupDaySerializer(selectors.checkup_days(hospital=self.hospital), many=True).data)


# --- Patient: booking, my appointments, cancelling -------------------------------------------------


class PersonInputSerializer(serializers.Serializer):
    """Someone not bound to the account (where the hospital allows booking for them)."""

    name = serializers.CharField(max_length=50)
    phone = serializers.RegexField(
        r"^1\d{10}$", error_messages={"invalid": gettext_lazy("Enter an 11-digit mobile phone number.")}
    )
    id_number = serializers.CharField(max_length=18)

    def validate_id_number(self, value: str) -> str:
        try:
            identity.validate_id_number(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None
        return identity.normalize_id_number(value)


class ExpertBookingInputSerializer(serializers.Serializer):
    slot = serializers.IntegerField(min_value=1, help_text="A slot of the doctor's schedule.")
    person = PersonInputSerializer(
        required=False, allow_null=True, help_text="Omit to book for the current bound person."
    )


class CheckupBookingInputSerializer(serializers.Serializer):
    day = serializers.IntegerField(min_value=1, help_text="A day of the checkup calendar.")
    order = serializers.IntegerField(min_value=1, required=False, help_text="A paid checkup order of mine; or:")
    product = serializers.IntegerField(min_value=1, required=False, help_text="A checkup product or package on sale.")
    person = PersonInputSerializer(
        required=False,
        allow_null=True,
        help_text="With `product` only: someone not bound (omit to book for the current bound person).",
    )

    def validate(self, attrs):
        if ("order" in attrs) == ("product" in attrs):
            message = _("Choose a paid checkup order or a checkup product.")
            raise serializers.ValidationError({"order": [message], "product": [message]})
        if "order" in attrs and attrs.get("person"):
            raise serializers.ValidationError({"person": [_("A checkup order is for the person it was bought for.")]})
        return attrs


class BookingPersonSerializer(serializers.Serializer):
    name = serializers.CharField(source="masked_person_name")
    phone = serializers.CharField(source="masked_person_phone")


class BookingSerializer(ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    session_label = serializers.CharField(source="get_session_display", read_only=True)
    subject = serializers.CharField(read_only=True, help_text="The doctor, or the checkup.")
    doctor_title_label = serializers.SerializerMethodField()
    department = serializers.SerializerMethodField()
    order_number = serializers.CharField(source="order.number", default=None, allow_null=True, read_only=True)
    person = BookingPersonSerializer(source="*", read_only=True, help_text="Masked.")
    cancel_deadline = serializers.SerializerMethodField(help_text="Cancel online until then.")
    can_cancel = serializers.SerializerMethodField()

    class Meta:
        model = Booking
        fields = [
            "id",
            "number",
            "kind",
            "kind_label",
            "state",
            "state_label",
            "subject",
            "doctor",
            "doctor_title_label",
            "department",
            "product",
            "order",
            "order_number",
            "date",
            "session",
            "session_label",
            "starts_at",
            "ends_at",
            "fee",
            "person",
            "cancel_deadline",
            "can_cancel",
            "cancel_reason",
            "created_at",
        ]
        read_only_fields = fields

    def get_doctor_title_label(self, booking: Booking) -> str:
        return str(booking.doctor.get_title_display()) if booking.doctor_id else ""

    def get_department(self, booking: Booking) -> str:
        department = booking.doctor.department if booking.doctor_id else None
        return department.name if department else ""

    def _deadline(self, booking: Booking):
        hospital = self.context["hospital"]  # the request's: the same for every row
        return booking.starts_at - hospital.settings.appointments.cancel_deadline

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_cancel_deadline(self, booking: Booking) -> str:
        return serializers.DateTimeField().to_representation(self._deadline(booking))

    def get_can_cancel(self, booking: Booking) -> bool:
        return booking.state == BookingState.BOOKED and timezone.now() < self._deadline(booking)


class NextStepSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="`binding_offered`: offer to bind a patient record.")
    message = serializers.CharField()
    endpoint = serializers.CharField(help_text="Where binding is done.")


class BookingAnswerSerializer(serializers.Serializer):
    booking = BookingSerializer()
    next = NextStepSerializer(allow_null=True, help_text="What the client should offer next, if anything.")


def _next_step(request, hospital) -> dict | None:
    """Someone who booked without binding anyone is told it worked and offered binding."""
    if Binding.objects.filter(account=request.user).exists():
        return None
    return {
        "code": "binding_offered",
        "message": _("Your booking is confirmed. Bind a patient record to book faster and see your reports."),
        "endpoint": f"/api/v1/{hospital.code}/patient/bindings/",
    }


def _typed(data: dict | None) -> services.TypedPerson | None:
    return services.TypedPerson(**data) if data else None


def _answer(request, hospital, booking: Booking) -> Response:
    booking = selectors.account_bookings(request.user).get(pk=booking.pk)
    body = {"booking": booking, "next": _next_step(request, hospital)}
    context = {"request": request, "hospital": hospital}
    return Response(BookingAnswerSerializer(body, context=context).data, status=status.HTTP_201_CREATED)


class AppointmentEndpoint(PatientEndpoint):
    feature = "appointments"


class ExpertBookingView(AppointmentEndpoint, APIView):
    @extend_schema(
        tags=[PATIENT_TAG],
        summary="Book a slot of a doctor's schedule (refusals: fully_booked, duplicate_booking, "
        "unpaid_pay_later_bills, too_many_no_shows, binding_required; `fields.action` says what to do)",
        parameters=[HOSPITAL_PARAMETER],
        request=ExpertBookingInputSerializer,
        responses={201: BookingAnswerSerializer, 400: ERROR_RESPONSE, 404: ERROR_RESPONSE, 409: ERROR_RESPONSE},
    )
    def post(self, request, hospital: str):
        body = ExpertBookingInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        booking = services.booking_create_expert(
            account=request.user, slot_id=body.validated_data["slot"], typed=_typed(body.validated_data.get("person"))
        )
        return _answer(request, self.hospital, booking)


class CheckupBookingView(AppointmentEndpoint, APIView):
    @extend_schema(
        tags=[PATIENT_TAG],
        summary="Book a checkup day for a paid checkup order or a checkup product (an unbound patient "
        "may book with typed details; the answer then offers binding)",
        parameters=[HOSPITAL_PARAMETER],
        request=CheckupBookingInputSerializer,
        responses={201: BookingAnswerSerializer, 400: ERROR_RESPONSE, 404: ERROR_RESPONSE, 409: ERROR_RESPONSE},
    )
    def post(self, request, hospital: str):
        body = CheckupBookingInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        booking = services.booking_create_checkup(
            account=request.user,
            day_id=data["day"],
            order_id=data.get("order"),
            product_id=data.get("product"),
            typed=_typed(data.get("person")),
        )
        return _answer(request, self.hospital, booking)


WHEN_PARAMETER = OpenApiParameter(
    "when",
    OpenApiTypes.STR,
    enum=[selectors.UPCOMING, selectors.PAST],
    description="upcoming: booked or checked in and not over, soonest first; past: the rest, latest first.",
)
KIND_PARAMETER = OpenApiParameter("kind", OpenApiTypes.STR, enum=BookingKind.values)


class MyAppointmentsView(AppointmentEndpoint, generics.ListAPIView):
    serializer_class = BookingSerializer
    pagination_class = PageNumberPagination
    queryset = Booking.objects.none()

    def get_queryset(self):
        when = self.request.query_params.get("when")
        bookings = selectors.account_bookings(
            self.request.user, when=when if when in (selectors.UPCOMING, selectors.PAST) else None
        )
        kind = self.request.query_params.get("kind")
        return bookings.filter(kind=kind) if kind in BookingKind.values else bookings

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "hospital": self.hospital}

    @extend_schema(
        tags=[PATIENT_TAG],
        summary="My appointments (expert and checkup), upcoming or past",
        parameters=[HOSPITAL_PARAMETER, WHEN_PARAMETER, KIND_PARAMETER],
        responses={200: BookingSerializer(many=True)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class MyAppointmentView(AppointmentEndpoint, APIView):
    @extend_schema(
        tags=[PATIENT_TAG],
        summary="One of my appointments",
        parameters=[HOSPITAL_PARAMETER],
        responses={200: BookingSerializer, 404: ERROR_RESPONSE},
    )
    def get(self, request, hospital: str, pk: int):
        booking = get_object_or_404(selectors.account_bookings(request.user), pk=pk)
        return Response(BookingSerializer(booking, context={"request": request, "hospital": self.hospital}).data)


class CancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class CancelView(AppointmentEndpoint, APIView):
    @extend_schema(
        tags=[PATIENT_TAG],
        summary="Cancel one of my appointments before the cancel deadline (refusal: cancel_deadline_passed)",
        parameters=[HOSPITAL_PARAMETER],
        request=CancelInputSerializer,
        responses={200: BookingSerializer, 404: ERROR_RESPONSE, 409: ERROR_RESPONSE},
    )
    def post(self, request, hospital: str, pk: int):
        body = CancelInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        booking = get_object_or_404(selectors.account_bookings(request.user), pk=pk)
        services.booking_cancel_by_patient(booking=booking, account=request.user, **body.validated_data)
        booking = selectors.account_bookings(request.user).get(pk=pk)
        return Response(BookingSerializer(booking, context={"request": request, "hospital": self.hospital}).data)


urlpatterns = [
    path("public/doctors/<int:pk>/schedule/", DoctorScheduleView.as_view(), name="public-doctor-schedule"),
    path("public/appointments/checkup-days/", CheckupDaysView.as_view(), name="public-checkup-days"),
    path("patient/appointments/", MyAppointmentsView.as_view(), name="patient-appointments"),
    path("patient/appointments/expert/", ExpertBookingView.as_view(), name="patient-appointments-expert"),
    path("patient/appointments/checkup/", CheckupBookingView.as_view(), name="patient-appointments-checkup"),
    path("patient/appointments/<int:pk>/", MyAppointmentView.as_view(), name="patient-appointment"),
    path("patient/appointments/<int:pk>/cancel/", CancelView.as_view(), name="patient-appointment-cancel"),
]

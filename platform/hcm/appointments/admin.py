"""What the generated appointments admin cannot express: the calendar-like slot list, bookings
made by patients only, overrides granted and revoked through the service (audit-logged), and a
friendly error for a schedule row naming an unknown doctor."""

from django.utils.translation import gettext as _

from hcm.appointments import services
from hcm.content.models import Doctor


class ScheduleSlotAdminMixin:
    date_hierarchy = "date"
    list_per_page = 100


class CheckupDayAdminMixin:
    date_hierarchy = "date"


class BookingAdminMixin:
    date_hierarchy = "date"


class BookingBlockOverrideAdminMixin:
    """An override is granted and revoked through the service, which writes the audit entry;
    once given it is not edited (revoke it and grant another)."""

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        services.block_override_grant(override=obj, operator=request.user, request=request)

    def delete_model(self, request, obj):
        services.block_override_revoke(override=obj, operator=request.user, request=request)

    def delete_queryset(self, request, queryset):
        for override in queryset.order_by("pk"):
            services.block_override_revoke(override=override, operator=request.user, request=request)


class ScheduleSlotImportMixin:
    """A row naming a doctor the hospital's site does not have says so in the preview."""

    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        name = str(row.get("doctor") or "").strip()
        if name and not Doctor.objects.filter(hospital__code=row.get("hospital"), name=name).exists():
            raise ValueError(_("No doctor named “%(name)s” at this hospital.") % {"name": name})

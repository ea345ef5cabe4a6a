"""What the generated notification admin cannot express: resending failed notifications."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from hcm.notifications.services import notification_resend


class ResendAdminMixin:
    """The "resend" action for failed rows, for operators who may view the row's hospital's notifications.

    Viewing is the permission that fits: a resend delivers the message the business already
    decided to send, with its content unchanged, and only once it has failed; it writes no
    business data. It is audited (who, when, the error it replaced).
    """

    actions = ["resend"]

    def has_resend_permission(self, request) -> bool:
        return bool(self.hospital_ids(request, "view"))

    @admin.action(description=_("Resend failed notifications"), permissions=["resend"])
    def resend(self, request, queryset):
        allowed = set(self.hospital_ids(request, "view"))
        resent = skipped = 0
        for notification in queryset.order_by("pk"):
            if notification.hospital_id in allowed and notification_resend(
                notification=notification, actor=request.user
            ):
                resent += 1
            else:
                skipped += 1
        if resent:
            message = ngettext(
                "%(count)d notification will be sent again.", "%(count)d notifications will be sent again.", resent
            )
            self.message_user(request, message % {"count": resent}, level=messages.SUCCESS)
        if skipped:
            message = ngettext(
                "%(count)d notification was not resent: only failed notifications can be.",
                "%(count)d notifications were not resent: only failed notifications can be.",
                skipped,
            )
            self.message_user(request, message % {"count": skipped}, level=messages.WARNING)

"""Low-code declaration of the notification outbox: a read-only admin with "resend", and a staff list."""

from hcm.lowcode.admin import ReadOnlyAdminMixin
from hcm.lowcode.declarations import Resource, Scope, register
from hcm.notifications.admin import ResendAdminMixin
from hcm.notifications.models import Notification


@register
class NotificationResource(Resource):
    model = Notification
    list_display = ["created_at", "event", "openid", "state", "attempts", "sent_at", "last_error", "hospital"]
    list_filter = ["state", "event", "created_at", "hospital"]
    search_fields = ["openid", "template_id"]
    admin_mixins = [ResendAdminMixin, ReadOnlyAdminMixin]
    staff = Scope(
        fields=[
            "id",
            "event",
            "account",
            "template_id",
            "data",
            "url",
            "state",
            "attempts",
            "next_attempt_at",
            "last_error",
            "sent_at",
            "created_at",
        ],
        filters=["state", "event"],
    )

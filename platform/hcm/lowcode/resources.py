"""The audit trails, read-only in the admin of each hospital."""

from hcm.lowcode.admin import ReadOnlyAdminMixin
from hcm.lowcode.declarations import Resource, register
from hcm.lowcode.models import AuditEntry, TransitionLog


@register
class TransitionLogResource(Resource):
    model = TransitionLog
    list_display = [
        "created_at",
        "content_type",
        "object_id",
        "transition",
        "source_state",
        "target_state",
        "actor_label",
    ]
    list_filter = ["transition", "content_type", "created_at"]
    search_fields = ["object_id", "actor_label"]
    select_related = ["content_type"]
    admin_mixins = [ReadOnlyAdminMixin]


@register
class AuditEntryResource(Resource):
    model = AuditEntry
    list_display = ["created_at", "action", "object_repr", "actor_label", "ip_address"]
    list_filter = ["action", "content_type", "created_at"]
    search_fields = ["object_id", "object_repr", "actor_label"]
    select_related = ["content_type"]
    admin_mixins = [ReadOnlyAdminMixin]

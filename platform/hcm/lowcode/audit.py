"""Recording sensitive reads and operator actions that are not state transitions."""

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models

from hcm.lowcode.models import AuditEntry
from hcm.lowcode.throttling import client_address
from hcm.lowcode.transitions import actor_label


def client_ip(request) -> str | None:
    """The client's address: the socket's, or what a trusted proxy forwarded (see throttling)."""
    return client_address(request) if request is not None else None


def audit_record(*, obj: models.Model, action: str, actor, request=None, detail: dict | None = None) -> AuditEntry:
    """Write one audit entry about `obj` (a row of a hospital) by `actor`."""
    return AuditEntry.objects.create(
        hospital_id=obj.hospital_id,
        action=action,
        content_type=ContentType.objects.get_for_model(type(obj)),
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        actor=actor if isinstance(actor, get_user_model()) else None,
        actor_label=actor_label(actor),
        ip_address=client_ip(request),
        detail={k: str(v) for k, v in (detail or {}).items()},
    )


def audit_export(*, queryset, action: str, actor, request=None) -> list[AuditEntry]:
    """One audit entry per hospital whose rows an export contained, with the row count."""
    model = queryset.model
    content_type = ContentType.objects.get_for_model(model)
    counts = queryset.order_by().values("hospital_id").annotate(rows=models.Count("pk"))
    return AuditEntry.objects.bulk_create(
        AuditEntry(
            hospital_id=row["hospital_id"],
            action=action,
            content_type=content_type,
            object_id="*",
            object_repr=str(model._meta.verbose_name_plural)[:200],
            actor=actor if isinstance(actor, get_user_model()) else None,
            actor_label=actor_label(actor),
            ip_address=client_ip(request),
            detail={"rows": str(row["rows"])},
        )
        for row in counts
    )

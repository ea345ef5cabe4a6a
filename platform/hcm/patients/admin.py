"""What the generated patient admin cannot express: who may see full identities, and the trail
left when they do."""

from hcm.lowcode.audit import audit_export, audit_record
from hcm.lowcode.models import AuditEntry
from hcm.patients import identity

IDENTITY_FIELDS = ("name", "id_number", "phone")
MASKED_FIELDS = ("masked_name", "masked_id_number", "masked_phone")
REVEAL = "reveal"  # patients.reveal_patientrecord


class PatientRecordAdminMixin:
    """Lists always mask; the detail page shows full values only to roles that may reveal them,
    and every such view (and every full export) is written to the audit trail."""

    def can_reveal(self, request, obj=None) -> bool:
        ids = self.hospital_ids(request, REVEAL)
        return bool(ids) if obj is None else obj.hospital_id in ids

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or ())
        if obj is not None and not self.can_reveal(request, obj):
            exclude += IDENTITY_FIELDS
        return exclude

    def get_readonly_fields(self, request, obj=None):
        fields = [*super().get_readonly_fields(request, obj), "source", "created_at", "updated_at"]
        if obj is not None and not self.can_reveal(request, obj):
            fields = [*MASKED_FIELDS, *fields]
        return fields

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        original = getattr(response, "context_data", {}).get("original")
        if request.method == "GET" and response.status_code == 200 and original and self.can_reveal(request, original):
            audit_record(obj=original, action=AuditEntry.Action.VIEW_IDENTITY, actor=request.user, request=request)
        return response

    def get_search_results(self, request, queryset, search_term):
        """Searching by a whole ID number matches its keyed hash (the stored number is encrypted)."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        number = identity.normalize_id_number(search_term)
        if len(number) == 18:
            results = results | queryset.filter(id_number_hash=identity.lookup_hash(number))
        return results, may_have_duplicates

    def get_export_resource_kwargs(self, request, **kwargs):
        revealed = set(self.hospital_ids(request, REVEAL))
        visible = set(self.hospital_ids(request))
        return {**super().get_export_resource_kwargs(request, **kwargs), "reveal": visible <= revealed}

    def get_data_for_export(self, request, queryset, **kwargs):
        data = super().get_data_for_export(request, queryset, **kwargs)
        if "id_number" in data.headers:
            audit_export(
                queryset=queryset, action=AuditEntry.Action.EXPORT_IDENTITY, actor=request.user, request=request
            )
        return data


class IdentityExportMixin:
    """Base of the patient record resource: without `reveal`, exports leave identities out
    (not masked: a masked file imported back would overwrite the real values)."""

    def __init__(self, *, reveal: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.reveal = reveal

    def get_export_fields(self, selected_fields=None):
        fields = super().get_export_fields(selected_fields)
        if self.reveal:
            return fields
        return [f for f in fields if f.attribute not in IDENTITY_FIELDS]

"""Low-code declarations of patients: records (imported by operators), accounts and bindings."""

from hcm.lowcode.admin import ReadOnlyAdminMixin
from hcm.lowcode.declarations import Resource, Scope, register
from hcm.patients.admin import IdentityExportMixin, PatientRecordAdminMixin
from hcm.patients.models import Binding, PatientRecord, WechatAccount


@register
class PatientRecordResource(Resource):
    model = PatientRecord
    list_display = [
        "medical_card_number",
        "masked_name",
        "gender",
        "birth_date",
        "masked_id_number",
        "masked_phone",
        "source",
        "hospital",
    ]
    list_filter = ["gender", "source", "hospital"]
    search_fields = ["medical_card_number", "name", "phone"]
    import_fields = ["medical_card_number", "name", "gender", "birth_date", "id_number", "phone"]
    import_id_fields = ["hospital", "medical_card_number"]
    admin_mixins = [PatientRecordAdminMixin]
    resource_mixins = [IdentityExportMixin]
    staff = Scope(
        fields=[
            "id",
            "medical_card_number",
            "masked_name",
            "gender",
            "birth_date",
            "masked_id_number",
            "masked_phone",
            "source",
            "created_at",
        ],
        filters=["gender", "source", "medical_card_number"],
        search=["medical_card_number"],
    )


@register
class WechatAccountResource(Resource):
    model = WechatAccount
    list_display = ["nickname", "openid", "current_patient", "last_sign_in_at", "hospital", "created_at"]
    list_filter = ["hospital"]
    search_fields = ["nickname", "openid"]
    select_related = ["current_patient"]
    readonly_fields = ["openid", "unionid", "current_patient", "last_sign_in_at", "created_at"]
    made_by_services = True  # by signing in through WeChat
    staff = Scope(fields=["id", "nickname", "current_patient", "last_sign_in_at", "created_at"], filters=["openid"])


@register
class BindingResource(Resource):
    model = Binding
    list_display = ["patient", "account", "relation", "created_at", "hospital"]
    list_filter = ["relation", "hospital"]
    search_fields = ["patient__medical_card_number", "account__nickname", "account__openid"]
    select_related = ["patient", "account"]
    admin_mixins = [ReadOnlyAdminMixin]
    staff = Scope(
        fields=["id", "account", "patient", "patient.medical_card_number", "relation", "created_at"],
        filters=["account", "patient"],
    )

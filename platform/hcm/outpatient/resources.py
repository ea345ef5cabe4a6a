"""Outpatient payments in the admin (query by patient, prescription, date, state, method; the
settlement and refund detail; an operator-started refund), the staff API and the patient's
own list. Prescriptions are our read-only copy of the HIS's bills."""

from unfold.admin import TabularInline

from hcm.lowcode.admin import ReadOnlyAdminMixin
from hcm.lowcode.declarations import Resource, Scope, register
from hcm.outpatient.models import OutpatientPayment, OutpatientPaymentLine, Prescription

_PAYMENT_FIELDS = [
    "id",
    "number",
    "state",
    "patient_name",
    "insurance",
    "amount",
    "insurance_amount",
    "self_pay_amount",
    "refunded_amount",
    "payment_method",
    "prescriptions",
    "refund_reason",
    "paid_at",
    "created_at",
]


class LineInline(TabularInline):
    model = OutpatientPaymentLine
    extra = 0
    fields = [
        "number",
        "kind",
        "department",
        "amount",
        "insurance_amount",
        "self_pay_amount",
        "state",
        "receipt_number",
        "settled_at",
        "failure",
    ]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class OutpatientPaymentAdminMixin:
    inlines = [LineInline]


@register
class OutpatientPaymentResource(Resource):
    model = OutpatientPayment
    feature = "outpatient"
    list_display = [
        "number",
        "patient_name",
        "self_pay_amount",
        "insurance_amount",
        "refunded_amount",
        "payment_method",
        "state",
        "created_at",
        "hospital",
    ]
    list_filter = ["state", "payment_method", "insurance", "created_at", "hospital"]
    search_fields = ["number", "lines__number", "patient__medical_card_number", "his_patient_id"]
    select_related = ["patient"]
    prefetch_related = ["lines"]
    readonly_fields = ["account", "patient"]
    import_fields = [
        "number",
        "his_patient_id",
        "patient_name",
        "amount",
        "insurance_amount",
        "self_pay_amount",
        "refunded_amount",
        "payment_method",
        "state",
        "paid_at",
        "created_at",
    ]
    import_id_fields = ["number"]
    made_by_services = True  # by patients paying; exporting them is for finance
    admin_mixins = [OutpatientPaymentAdminMixin]
    staff = Scope(
        fields=[*_PAYMENT_FIELDS, "patient", "his_patient_id"],
        list_fields=[f for f in _PAYMENT_FIELDS if f != "prescriptions"],
        transitions=True,
        filters=["state", "payment_method", "patient"],
        search=["number", "lines__number"],
    )
    patient = Scope(fields=_PAYMENT_FIELDS, owner="account", filters=["state"])


@register
class PrescriptionResource(Resource):
    model = Prescription
    feature = "outpatient"
    list_display = ["number", "kind", "department", "doctor", "amount", "pay_later", "paid", "issued_at", "hospital"]
    list_filter = ["kind", "pay_later", "paid", "issued_at", "hospital"]
    search_fields = ["number", "medical_card_number", "his_patient_id"]
    admin_mixins = [ReadOnlyAdminMixin]
    staff = Scope(
        fields=[
            "id",
            "number",
            "kind",
            "department",
            "doctor",
            "amount",
            "pay_later",
            "mergeable",
            "paid",
            "issued_at",
        ],
        filters=["kind", "pay_later", "paid"],
        search=["number"],
    )

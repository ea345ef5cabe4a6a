"""What the generated distribution admin cannot express: review screens whose only writes are the
transitions, exports that never import, and the per-hospital distribution report."""

from django import forms
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.decorators import action
from unfold.widgets import UnfoldAdminDateWidget

from hcm.distribution.selectors import distribution_report
from hcm.hospitals.models import Hospital


class ExportOnlyResourceMixin:
    """Exported for finance, never imported: these rows are written only by the services."""

    def before_import(self, dataset, **kwargs):
        raise ValueError(_("Distribution records are exported for finance, never imported."))


class ReviewAdminMixin:
    """Rows made by patients and changed only by their transitions (approve, reject, pay): the
    change page shows every field read-only and the transition buttons (the declaration's
    `made_by_services` takes away add, delete and import)."""

    def get_readonly_fields(self, request, obj=None):
        names = [f.name for f in self.model._meta.fields if f.name != "id"]
        return [*super().get_readonly_fields(request, obj), *[n for n in names if n not in ("hospital",)]]

    def save_model(self, request, obj, form, change):
        """Nothing here is edited by hand; saving a stale copy would undo a transition."""


class ReportForm(forms.Form):
    date_from = forms.DateField(label=gettext_lazy("From"), required=False, widget=UnfoldAdminDateWidget())
    date_to = forms.DateField(label=gettext_lazy("To"), required=False, widget=UnfoldAdminDateWidget())

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date cannot be before the start date."))
        return cleaned


REPORT_ROWS = [
    ("distributors", gettext_lazy("Distributors")),
    ("earned", gettext_lazy("Commission earned")),
    ("earned_distribution", gettext_lazy("Distribution income")),
    ("earned_team", gettext_lazy("Team income")),
    ("earned_other", gettext_lazy("Invitation rewards")),
    ("cancelled", gettext_lazy("Cancelled before settling")),
    ("settled", gettext_lazy("Settled")),
    ("clawed_back", gettext_lazy("Clawed back")),
    ("withdrawn", gettext_lazy("Withdrawn")),
    ("withdrawal_fees", gettext_lazy("Withdrawal fees")),
    ("paid_out", gettext_lazy("Paid out")),
    ("pending_now", gettext_lazy("Awaiting settlement now")),
    ("held_now", gettext_lazy("Held by open withdrawals now")),
    ("balances_now", gettext_lazy("Account balances now")),
]


class DistributorAdminMixin(ReviewAdminMixin):
    """Distributors come from approved applications; the list links to the report for finance."""

    actions_list = ["report"]

    def has_report_permission(self, request) -> bool:
        return self.has_view_permission(request)

    @action(description=gettext_lazy("Distribution report"), url_path="report", permissions=["report"])
    def report(self, request):
        form = ReportForm(request.GET or None)
        period = form.cleaned_data if form.is_valid() else {}
        hospitals = Hospital.objects.filter(pk__in=self.hospital_ids(request)).order_by("code")
        reports = []
        for hospital in hospitals:
            report = distribution_report(hospital=hospital, **period)
            values = {**report, **{f"earned_{k}": v for k, v in report["earned_by_type"].items()}}
            reports.append({"hospital": hospital, "rows": [(label, values[key]) for key, label in REPORT_ROWS]})
        context = {
            **self.admin_site.each_context(request),
            "title": _("Distribution report"),
            "opts": self.opts,
            "form": form,
            "reports": reports,
        }
        return TemplateResponse(request, "distribution/report.html", context)

"""What the generated wallet admin cannot express: issuing a card, counter top-ups and password
resets through the services, and ledgers that can be exported but never imported or edited."""

import uuid

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.decorators import action
from unfold.widgets import UnfoldAdminDecimalFieldWidget, UnfoldAdminPasswordWidget, UnfoldAdminTextInputWidget

from hcm.lowcode.admin import TenantAdminMixin
from hcm.lowcode.errors import DomainError
from hcm.wallet import services
from hcm.wallet.models import MONEY, BalanceAccount

RECENT_ENTRIES = 10
ACCOUNT_FIELDS = [
    "hospital",
    "patient",
    "card_number",
    "balance",
    "failed_attempts",
    "locked_until",
    "password_changed_at",
    "issued_by",
    "created_at",
    "updated_at",
]


def _password_field(label) -> forms.CharField:
    return forms.CharField(label=label, strip=False, max_length=32, widget=UnfoldAdminPasswordWidget())


class IssueCardForm(forms.ModelForm):
    """The add form: a patient record of the operator's hospitals and the initial payment password."""

    payment_password = _password_field(gettext_lazy("Payment password"))
    confirm_password = _password_field(gettext_lazy("Payment password again"))

    class Meta:
        model = BalanceAccount
        fields = ["patient"]

    def clean(self):
        cleaned = super().clean()
        patient = cleaned.get("patient")
        password = cleaned.get("payment_password")
        if password and password != cleaned.get("confirm_password"):
            self.add_error("confirm_password", _("The two passwords do not match."))
        if patient is None:
            return cleaned
        self.instance.hospital_id = patient.hospital_id  # the card belongs to the record's hospital
        if BalanceAccount.objects.filter(patient=patient).exists():
            self.add_error("patient", _("This patient already has a balance card."))
        if password:
            problem = services.password_problem(policy=services.password_policy(patient.hospital), password=password)
            if problem:
                self.add_error("payment_password", problem)
        return cleaned


class TopUpForm(forms.Form):
    amount = forms.DecimalField(
        label=gettext_lazy("Amount"),
        **MONEY,
        min_value=services.CENT,
        max_value=services.MAX_AMOUNT,
        widget=UnfoldAdminDecimalFieldWidget(),
    )
    note = forms.CharField(
        label=gettext_lazy("Note"), max_length=200, required=False, widget=UnfoldAdminTextInputWidget()
    )
    # One form, one top-up: submitting it twice books it once.
    token = forms.UUIDField(widget=forms.HiddenInput())


class PasswordResetForm(forms.Form):
    password = _password_field(gettext_lazy("New payment password"))
    confirm_password = _password_field(gettext_lazy("New payment password again"))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password") and cleaned.get("password") != cleaned.get("confirm_password"):
            self.add_error("confirm_password", _("The two passwords do not match."))
        return cleaned


class BalanceAccountAdminMixin:
    """Cards are issued, topped up and have their password reset through the services; nothing on
    a card is edited directly, so the change page is read-only and the operations are detail actions."""

    add_form = IssueCardForm
    actions_detail = ["topup", "reset_password"]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["patient", "payment_password", "confirm_password"]})]
        return [(None, {"fields": ACCOUNT_FIELDS}), (_("Recent entries"), {"fields": ["recent_entries"]})]

    def get_readonly_fields(self, request, obj=None):
        return [*ACCOUNT_FIELDS, "recent_entries"] if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, change, **kwargs)

    def has_change_permission(self, request, obj=None):
        return False  # see the class docstring; the actions ask for the change permission themselves

    def has_delete_permission(self, request, obj=None):
        return False

    def may_operate(self, request, object_id) -> bool:
        """The operator holds the change permission at the card's hospital (and its feature is on)."""
        account = self.get_queryset(request).filter(pk=object_id).first() if object_id else None
        return account is not None and TenantAdminMixin.has_change_permission(self, request, account)

    has_topup_permission = may_operate
    has_reset_password_permission = may_operate

    def save_model(self, request, obj, form, change):
        patient = form.cleaned_data["patient"]
        if patient.hospital_id not in self.hospital_ids(request, "add"):
            raise PermissionDenied
        account = services.account_issue(
            patient=patient, password=form.cleaned_data["payment_password"], operator=request.user
        )
        for field in BalanceAccount._meta.concrete_fields:
            setattr(obj, field.attname, getattr(account, field.attname))
        obj._state.adding = False

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as refusal:  # a card issued meanwhile; the transaction has rolled back
            messages.error(request, refusal.message)
            return redirect(request.path)

    def response_add(self, request, obj, post_url_continue=None):
        messages.success(request, _("Card %(card)s issued.") % {"card": obj.card_number})
        return redirect(self._change_url(obj.pk))

    def _change_url(self, pk) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[pk])

    @action(description=gettext_lazy("Counter top-up"), url_path="topup", permissions=["topup"])
    def topup(self, request, object_id):
        account = self.get_queryset(request).get(pk=object_id)
        form = TopUpForm(request.POST or None, initial={"token": uuid.uuid4()})
        if request.method == "POST" and form.is_valid():
            try:
                entry = services.counter_topup(
                    account=account,
                    amount=form.cleaned_data["amount"],
                    operator=request.user,
                    note=form.cleaned_data["note"],
                    reference=f"admin.topup:{form.cleaned_data['token'].hex}",
                )
            except DomainError as refusal:
                messages.error(request, refusal.message)
            else:
                messages.success(
                    request,
                    _("%(amount)s credited; the balance is now %(balance)s.")
                    % {"amount": entry.amount, "balance": entry.balance_after},
                )
                return redirect(self._change_url(account.pk))
        return self._action_page(request, account, form, _("Counter top-up"))

    @action(
        description=gettext_lazy("Reset payment password"), url_path="reset-password", permissions=["reset_password"]
    )
    def reset_password(self, request, object_id):
        account = self.get_queryset(request).get(pk=object_id)
        form = PasswordResetForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.password_reset(
                    account=account, password=form.cleaned_data["password"], operator=request.user, request=request
                )
            except DomainError as refusal:
                messages.error(request, refusal.message)
            else:
                messages.success(request, _("The payment password has been reset and the card unlocked."))
                return redirect(self._change_url(account.pk))
        return self._action_page(request, account, form, _("Reset payment password"))

    def _action_page(self, request, account, form, title) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "original": account,
            "form": form,
            "change_url": self._change_url(account.pk),
        }
        return TemplateResponse(request, "wallet/account_action.html", context)

    @staticmethod
    def _entries_url(account) -> str:
        return reverse("admin:wallet_ledgerentry_changelist") + f"?account__id__exact={account.pk}"

    def recent_entries(self, obj):
        entries = obj.entries.order_by("-pk")[:RECENT_ENTRIES]
        rows = format_html_join(
            "",
            "<tr><td class='pr-4'>{}</td><td class='pr-4'>{}</td><td class='pr-4 text-right'>{}</td>"
            "<td class='pr-4 text-right'>{}</td><td>{}</td></tr>",
            (
                (
                    localtime(e.created_at).strftime("%Y-%m-%d %H:%M"),
                    e.get_kind_display(),
                    e.amount,
                    e.balance_after,
                    e.reference,
                )
                for e in entries
            ),
        )
        link = format_html("<a class='text-primary-600' href='{}'>{}</a>", self._entries_url(obj), _("All entries"))
        return format_html("<table class='text-sm'>{}</table><p class='mt-2'>{}</p>", rows, link)

    recent_entries.short_description = gettext_lazy("Recent entries")


class ExportOnlyAdminMixin:
    """Exported for finance, never imported: a ledger is written only by the services."""

    def has_import_permission(self, request):
        return False


class ExportOnlyResourceMixin:
    """The same rule for the import/export resource itself, whoever drives it."""

    def before_import(self, dataset, **kwargs):
        raise ValueError(_("Ledger entries cannot be imported."))

    def dehydrate_operator(self, entry) -> str:
        return entry.operator.get_username() if entry.operator_id else ""

"""Input of the outpatient payment's transitions (admin form and API body alike)."""

from django import forms
from django.utils.translation import gettext_lazy as _


class RefundForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=200)


class CollectForm(forms.Form):
    note = forms.CharField(label=_("how it was paid"), max_length=200, help_text=_("e.g. cash, bank card"))

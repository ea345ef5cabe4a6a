"""Inputs of distribution transitions, shared by the admin's forms and the API's bodies."""

from django import forms
from django.utils.translation import gettext_lazy as _


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=200)


class TransferForm(forms.Form):
    reference = forms.CharField(
        label=_("transfer reference"), max_length=64, help_text=_("e.g. the bank transfer's voucher number")
    )

"""Inputs of order transitions, shared by the admin's forms and the API's bodies."""

from django import forms
from django.utils.translation import gettext_lazy as _


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=200)


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=200, required=False)


class CollectForm(forms.Form):
    note = forms.CharField(
        label=_("how it was paid"), max_length=200, help_text=_("e.g. cash, bank card, POS slip number")
    )

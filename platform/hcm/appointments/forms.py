"""Inputs of booking transitions, shared by the admin's forms and the API's bodies."""

from django import forms
from django.utils.translation import gettext_lazy as _


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=200)


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=200, required=False)

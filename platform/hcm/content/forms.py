from django import forms
from django.utils.translation import gettext_lazy as _


class ArchiveForm(forms.Form):
    """Input of the archive transition (admin form and API body alike)."""

    reason = forms.CharField(label=_("Reason"), max_length=200, help_text=_("Why the content is taken down."))

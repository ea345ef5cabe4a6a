"""The configuration editor of the admin: YAML text validated by the same schema as onboarding."""

from django import forms
from django.utils.translation import gettext_lazy as _
from unfold.widgets import UnfoldAdminTextareaWidget

from hcm.hospitals.config import ConfigError, dump_config_yaml, parse_config
from hcm.hospitals.services import deployment_refusals


class HospitalConfigForm(forms.Form):
    config_yaml = forms.CharField(
        label=_("Configuration (YAML)"),
        widget=UnfoldAdminTextareaWidget(attrs={"rows": 40, "class": "font-mono", "spellcheck": "false"}),
        help_text=_("Same format as configs/<code>.yaml; validated before it is saved."),
    )

    def __init__(self, *args, hospital, **kwargs):
        self.hospital = hospital
        kwargs.setdefault("initial", {"config_yaml": dump_config_yaml(hospital.settings)})
        super().__init__(*args, **kwargs)

    def clean_config_yaml(self):
        text = self.cleaned_data["config_yaml"]
        try:
            self.config = parse_config(text, filename=f"{self.hospital.code}.yaml")
        except ConfigError as error:
            raise forms.ValidationError([str(issue) for issue in error.issues]) from None
        refusals = deployment_refusals(config=self.config, filename=f"{self.hospital.code}.yaml")
        if refusals:
            raise forms.ValidationError([str(issue) for issue in refusals])
        if self.config.code != self.hospital.code:
            raise forms.ValidationError(_("The hospital code cannot be changed (it is part of every URL)."))
        return text

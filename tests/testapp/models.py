"""A patient-owned model with a config-driven machine, to test the engine's patient scope."""

from django import forms
from django.db import models
from django_fsm import FSMField, FSMModelMixin, transition

from hcm.lowcode.transitions import condition


class ResolveForm(forms.Form):
    answer = forms.CharField(max_length=50)
    priority = forms.IntegerField(min_value=1, max_value=5)


@condition("Questions are closed for this hospital.")
def questions_open(note: "Note") -> bool:
    return note.hospital.settings.has_feature("reports")


NOTE_STATES = [("draft", "draft"), ("asked", "asked"), ("answered", "answered")]


class Note(FSMModelMixin, models.Model):
    hospital = models.ForeignKey("hospitals.Hospital", on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey("patients.WechatAccount", on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=50)
    answer = models.CharField(max_length=50, blank=True)
    state = FSMField(default="draft", choices=NOTE_STATES, protected=True)

    def __str__(self) -> str:
        return self.title

    @transition(
        field=state,
        source="draft",
        target="asked",
        conditions=[questions_open],
        custom={"scopes": ("patient", "staff")},
    )
    def ask(self) -> None:
        pass

    @transition(field=state, source="asked", target="answered", custom={"form": ResolveForm})
    def resolve(self, answer: str, priority: int) -> None:
        self.answer = f"{answer} (p{priority})"

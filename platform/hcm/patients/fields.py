"""A model field whose value is encrypted at rest (see hcm.patients.identity)."""

from django import forms
from django.db import models

from hcm.patients import identity


class EncryptedCharField(models.TextField):
    """Stores a Fernet token; reads back the plain text. Not searchable: pair it with a keyed hash."""

    def __init__(self, *args, max_length: int = 64, **kwargs):
        self.plain_max_length = max_length
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["max_length"] = self.plain_max_length
        return name, path, args, kwargs

    def from_db_value(self, value, expression, connection):
        return identity.decrypt(value) if value else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return identity.encrypt(value) if value else value

    def formfield(self, **kwargs):
        # A one-line input of the plain value's length, not TextField's textarea.
        return models.Field.formfield(
            self, **{"form_class": forms.CharField, "max_length": self.plain_max_length, **kwargs}
        )

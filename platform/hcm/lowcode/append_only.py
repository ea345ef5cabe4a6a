"""Rows written once and never changed or deleted: ledgers of money (balance cards, commissions).

A model inherits `AppendOnlyModel` and uses `AppendOnlyQuerySet.as_manager()`; saving an existing
row, deleting one, and bulk updates or deletes through the queryset all raise `RowImmutable`.
Corrections are new rows.
"""

from django.db import models


class RowImmutable(Exception):
    """An append-only row was about to be changed or deleted."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise RowImmutable(f"{self.model._meta.verbose_name_plural} cannot be changed.")

    def delete(self):
        raise RowImmutable(f"{self.model._meta.verbose_name_plural} cannot be deleted.")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise RowImmutable(f"{self._meta.verbose_name_plural} cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RowImmutable(f"{self._meta.verbose_name_plural} cannot be deleted.")

"""Reads of published content shared by the generated public API and the home page."""

from django.db.models import QuerySet

from hcm.content.models import PublishState


def published_only(queryset: QuerySet, request=None) -> QuerySet:
    return queryset.filter(state=PublishState.PUBLISHED)

"""Every event the configuration knows has a label in the admin."""

from typing import get_args

from hcm.hospitals.config.values import NotificationEvent
from hcm.notifications.models import EVENT_LABELS, Notification


def test_every_configurable_event_is_a_labelled_choice():
    events = get_args(NotificationEvent)
    assert [value for value, _label in Notification._meta.get_field("event").choices] == list(events)
    assert set(events) <= set(EVENT_LABELS)

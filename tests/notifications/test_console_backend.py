"""Development: notifications go to the log."""

import logging

from hcm.notifications.services import notify


def test_the_console_backend_logs_the_rendered_message(
    hospital, account, settings, caplog, django_capture_on_commit_callbacks
):
    settings.HCM_NOTIFICATION_BACKEND = "console"

    logs = caplog.at_level(logging.INFO, logger="hcm.notifications.backends")
    with logs, django_capture_on_commit_callbacks(execute=True):
        notification = notify(
            hospital=hospital, account=account, event="refund", data={"amount": "12.34 元"}, url="https://h5/x"
        )

    notification.refresh_from_db()
    assert notification.state == "sent"
    assert [r.getMessage() for r in caplog.records if r.name == "hcm.notifications.backends"] == [
        "WeChat template message [hospa] refund to oPatient01 (template TPL-REFUND): amount=12.34 元 https://h5/x"
    ]

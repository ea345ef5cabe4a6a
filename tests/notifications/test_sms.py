"""Text messages through the provider the hospital configures."""

import logging

from hcm.hospitals.config import parse_config
from hcm.hospitals.services import hospital_config_update
from hcm.notifications.sms import sms_send


def test_the_console_provider_logs_the_message(hospital, caplog):
    with caplog.at_level(logging.INFO, logger="hcm.notifications.sms"):
        handed_over = sms_send(
            hospital=hospital, phone="13812345678", template="verification_code", params={"code": 482913}
        )

    assert handed_over is True
    assert [record.getMessage() for record in caplog.records] == [
        "SMS [甲医院] to 138****5678: verification_code (SMS_0001) code=482913"
    ]


def test_the_none_provider_sends_nothing(hospital, caplog):
    config = parse_config("code: hospa\nname: 甲医院\nnotifications:\n  sms:\n    provider: none\n")
    hospital_config_update(hospital=hospital, config=config, author=None)
    hospital.refresh_from_db()

    with caplog.at_level(logging.INFO, logger="hcm.notifications.sms"):
        handed_over = sms_send(
            hospital=hospital, phone="13812345678", template="verification_code", params={"code": "1"}
        )

    assert handed_over is False and caplog.records == []

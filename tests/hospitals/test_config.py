"""The hospital configuration schema: what it accepts, how it reports mistakes, export and diff."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from hcm.hospitals.config import (
    ConfigError,
    ConfigIssue,
    HospitalConfig,
    config_json_schema,
    config_to_data,
    diff_configs,
    dump_config_yaml,
    format_duration,
    parse_config,
    parse_config_data,
    parse_duration,
)

MINIMAL = "code: ptdemo\nname: Demo Hospital\nfeatures: [site]\n"

# A copy of shared/example-hospital.yaml, so the test does not depend on where shared/ lives.
EXAMPLE = """\
code: ptdemo
name: 莆田示范医院
profile:
  phone: 400-000-0000
  address: 福建省莆田市城厢区示范路 1 号
  intro: 三级综合医院，提供门诊、体检与专家预约服务。
features: [site, mall, appointments, reports, recharge, outpatient, distribution]

payments:
  methods: [balance, at_hospital, wechat]      # display order; a method not listed is off
  wechat:
    enabled: false
    notice: 微信支付维护中，请选择其他支付方式
  unpaid_order_timeout: 30m                    # unpaid online orders close after this

balance:
  password: {length: 6, lock_after_failures: 5, lock_for: 30m}

recharge:
  presets: [50, 100, 500, 1000, 2000, 8888]
  min: 1
  max: 50000

outpatient:
  prescription_validity: 24h                   # shown to patients; HIS stays the judge
  merge: {enabled: true, max_prescriptions: 10, same_department_only: false}
  pay_later:
    enabled: true
    remind_at: "0 9 * * *"                     # cron, hospital's time zone
    block_booking_while_unpaid: true
  insurance: {enabled: true}
  scan_to_pay_without_binding: true

appointments:
  booking_window_days: 14
  cancel_deadline: 2h                          # before the slot starts
  no_show: {limit: 3, window_days: 90}

binding:
  require_existing_record: true
  identify_by: [name, id_number, phone]
  max_bound_people: 5

distribution:
  review_applications: true
  invite_code_required: false
  commission: {direct_rate: "0.05", team_rate: "0.02", invite_reward: "5.00"}
  settle_after_days: 7                         # after the order completes
  withdrawal: {review: true, min: "10.00", max_per_day: "2000.00", fee_rate: "0"}

notifications:
  wechat_templates:
    order_paid: TEMPLATE_ID_ORDER_PAID
    appointment_booked: TEMPLATE_ID_APPOINTMENT
    report_ready: TEMPLATE_ID_REPORT
    refund: TEMPLATE_ID_REFUND
    pay_later_reminder: TEMPLATE_ID_REMINDER
  sms: {provider: console, sign: 莆田示范医院}

integrations:
  his: {adapter: http, base_url: "http://127.0.0.1:8765", timeout: 5s}
  wechat:
    sandbox: true                              # demo only: a sign-in that skips WeChat
    app_id: wx0000000000000000
    app_secret_env: PTDEMO_WECHAT_APP_SECRET
    mch_id: "1900000000"
    api_key_env: PTDEMO_WECHAT_API_KEY
"""


def issues_of(text: str) -> list[ConfigIssue]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, filename="ptdemo.yaml")
    return caught.value.issues


def only_issue(text: str) -> ConfigIssue:
    issues = issues_of(text)
    assert len(issues) == 1, issues
    return issues[0]


# --- Accepted files ----------------------------------------------------------------------


def test_three_line_file_is_valid_and_takes_every_default():
    config = parse_config(MINIMAL)

    assert config.code == "ptdemo"
    assert config.features == ("site",)
    assert config.has_feature("site") and not config.has_feature("mall")
    assert config.payments.methods == ("at_hospital",)
    assert config.payments.unpaid_order_timeout == timedelta(minutes=30)
    assert config.balance.password.length == 6
    assert config.recharge.presets == tuple(Decimal(n) for n in (50, 100, 500, 1000, 2000))
    assert config.outpatient.pay_later.remind_at == "0 9 * * *"
    assert config.binding.identify_by == ("name", "id_number")
    assert config.distribution.withdrawal.max_per_day == Decimal("2000.00")
    assert config.integrations.his.adapter == "none"
    assert config.integrations.wechat.app_secret_env is None


def test_example_file_parses_with_its_values():
    config = parse_config(EXAMPLE, filename="example-hospital.yaml")

    assert config.name == "莆田示范医院"
    assert config.payments.method_available("balance")
    assert not config.payments.method_available("wechat")
    assert config.payments.method_notice("wechat") == "微信支付维护中，请选择其他支付方式"
    assert config.recharge.presets[-1] == Decimal("8888.00")
    assert config.outpatient.prescription_validity == timedelta(hours=24)
    assert config.distribution.commission.direct_rate == Decimal("0.05")
    assert config.notifications.wechat_templates["report_ready"] == "TEMPLATE_ID_REPORT"
    assert config.integrations.his.timeout == timedelta(seconds=5)
    assert config.integrations.wechat.api_key_env == "PTDEMO_WECHAT_API_KEY"


def test_a_method_not_listed_is_unavailable_even_when_enabled():
    config = parse_config(MINIMAL + "payments:\n  methods: [balance]\n")

    assert config.payments.method_available("balance")
    assert not config.payments.method_available("at_hospital")
    assert config.payments.at_hospital.enabled is True


@pytest.mark.parametrize("text", [MINIMAL, EXAMPLE])
def test_dumped_yaml_parses_back_to_an_equal_config(text):
    config = parse_config(text)

    dumped = dump_config_yaml(config)

    assert dumped.startswith("# yaml-language-server: $schema=schema.json\n")
    assert parse_config(dumped) == config


def test_stored_data_parses_back_to_an_equal_config():
    config = parse_config(EXAMPLE)

    data = json.loads(json.dumps(config_to_data(config)))

    assert parse_config_data(data) == config
    assert data["payments"]["unpaid_order_timeout"] == "30m"
    assert data["recharge"]["min"] == "1.00"
    assert data["distribution"]["commission"]["team_rate"] == "0.02"


@pytest.mark.parametrize(
    ("written", "seconds", "canonical"),
    [
        ("30s", 30, "30s"),
        ("30m", 1800, "30m"),
        ("2h", 7200, "2h"),
        ("7d", 604800, "7d"),
        ("1h30m", 5400, "1h30m"),
        ("90m", 5400, "1h30m"),
        ("24h", 86400, "1d"),
        (" 5s ", 5, "5s"),
        (0, 0, "0s"),
        (3661, 3661, "1h1m1s"),
    ],
)
def test_durations_parse_and_serialise_canonically(written, seconds, canonical):
    duration = parse_duration(written)

    assert duration == timedelta(seconds=seconds)
    assert format_duration(duration) == canonical


@pytest.mark.parametrize("written", [-1, "-5m", "30", "1.5h", "2 h", "", "1m30h", True, 1.5, None])
def test_malformed_durations_are_refused(written):
    with pytest.raises(ValueError, match="expected a duration such as 30m, 2h or 7d"):
        parse_duration(written)


# --- Refused files: each names the file, the line, the key path and what was expected -----


def test_unknown_top_level_key_lists_the_allowed_keys():
    issue = only_issue(MINIMAL + "colour: red\n")

    assert issue == ConfigIssue(
        "ptdemo.yaml",
        4,
        "colour",
        "unknown key 'colour'; expected one of: code, name, profile, features, payments, balance, recharge, "
        "outpatient, appointments, binding, distribution, notifications, integrations",
    )


def test_unknown_nested_key_suggests_the_closest_one():
    issue = only_issue(MINIMAL + "balance:\n  password:\n    lenght: 6\n")

    assert issue == ConfigIssue(
        "ptdemo.yaml",
        6,
        "balance.password.lenght",
        "unknown key 'lenght'; did you mean 'length'? expected one of: length, digits_only, lock_after_failures, "
        "lock_for",
    )


def test_wrong_type_says_an_integer_was_expected():
    issue = only_issue(MINIMAL + "binding:\n  max_bound_people: many\n")

    assert issue == ConfigIssue("ptdemo.yaml", 5, "binding.max_bound_people", "expected an integer")


def test_boolean_written_as_text_is_refused():
    issue = only_issue(MINIMAL + "payments:\n  wechat: {enabled: maybe}\n")

    assert issue == ConfigIssue("ptdemo.yaml", 5, "payments.wechat.enabled", "expected true or false")


def test_number_where_text_is_expected_suggests_quotes():
    issue = only_issue(MINIMAL + "integrations:\n  wechat:\n    mch_id: 1900000000\n")

    assert issue == ConfigIssue(
        "ptdemo.yaml", 6, "integrations.wechat.mch_id", 'expected a string; put numbers in quotes, such as "1900000000"'
    )


def test_negative_number_is_refused():
    issue = only_issue(MINIMAL + "distribution:\n  settle_after_days: -1\n")

    assert issue == ConfigIssue("ptdemo.yaml", 5, "distribution.settle_after_days", "expected a number of at least 0")


def test_out_of_range_number_is_refused():
    issue = only_issue(MINIMAL + "appointments:\n  booking_window_days: 365\n")

    assert issue == ConfigIssue("ptdemo.yaml", 5, "appointments.booking_window_days", "expected a number of at most 90")


def test_negative_duration_is_refused():
    issue = only_issue(MINIMAL + "balance:\n  password: {lock_for: -5m}\n")

    assert issue == ConfigIssue(
        "ptdemo.yaml", 5, "balance.password.lock_for", "expected a duration such as 30m, 2h or 7d"
    )


def test_unknown_payment_method_points_at_the_list_item():
    issue = only_issue(MINIMAL + "payments:\n  methods:\n    - balance\n    - cash\n")

    assert issue == ConfigIssue(
        "ptdemo.yaml", 7, "payments.methods[1]", "expected one of: balance, at_hospital, wechat"
    )


def test_empty_payment_methods_are_refused():
    issue = only_issue(MINIMAL + "payments:\n  methods: []\n")

    assert issue == ConfigIssue("ptdemo.yaml", 5, "payments.methods", "expected at least 1 item")


def test_rate_above_one_is_refused():
    issue = only_issue(MINIMAL + "distribution:\n  commission:\n    direct_rate: 1.5\n")

    assert issue == ConfigIssue(
        "ptdemo.yaml",
        6,
        "distribution.commission.direct_rate",
        'expected a rate between 0 and 1 with at most 4 decimals, such as "0.05"',
    )


def test_commission_rates_adding_up_above_one_are_refused():
    issue = only_issue(MINIMAL + "distribution:\n  commission:\n    direct_rate: 0.6\n    team_rate: 0.5\n")

    assert issue == ConfigIssue(
        "ptdemo.yaml", 7, "distribution.commission.team_rate", "expected direct_rate + team_rate to be at most 1"
    )


def test_money_with_three_decimals_is_refused():
    issue = only_issue(MINIMAL + "distribution:\n  withdrawal: {min: 10.005}\n")

    assert issue == ConfigIssue(
        "ptdemo.yaml",
        5,
        "distribution.withdrawal.min",
        "expected an amount of money such as 10.00 (not negative, at most 2 decimals)",
    )


def test_invalid_cron_is_refused():
    issue = only_issue(MINIMAL + "outpatient:\n  pay_later:\n    remind_at: '61 9 * * *'\n")

    assert issue == ConfigIssue(
        "ptdemo.yaml", 6, "outpatient.pay_later.remind_at", "expected a cron expression such as '0 9 * * *'"
    )


def test_secret_written_inline_is_refused():
    issue = only_issue(MINIMAL + "integrations:\n  wechat:\n    app_secret: abc\n")

    assert issue == ConfigIssue(
        "ptdemo.yaml",
        6,
        "integrations.wechat.app_secret",
        "write app_secret_env: NAME_OF_ENV_VAR; secrets are never written in the file",
    )


def test_env_value_that_is_not_a_variable_name_is_refused():
    issue = only_issue(MINIMAL + "integrations:\n  his:\n    token_env: s3cr3t-t0ken\n")

    assert issue == ConfigIssue(
        "ptdemo.yaml",
        6,
        "integrations.his.token_env",
        "expected the name of an environment variable, such as HIS_TOKEN; "
        "secrets are never written in the file, only the variable that holds them",
    )


def test_http_adapter_without_url_is_refused():
    issue = only_issue(MINIMAL + "integrations:\n  his: {adapter: http}\n")

    assert issue == ConfigIssue(
        "ptdemo.yaml",
        5,
        "integrations.his.base_url",
        "expected an http:// or https:// URL (required when adapter is http)",
    )


def test_unknown_notification_event_is_refused():
    issue = only_issue(MINIMAL + "notifications:\n  wechat_templates:\n    order_payed: TPL\n")

    assert issue.line == 6
    assert issue.path == "notifications.wechat_templates.order_payed"
    assert issue.message.startswith("expected one of: order_placed, order_paid, order_cancelled, appointment_booked")


def test_yaml_syntax_error_names_the_line():
    issue = only_issue("code: ptdemo\nname: Demo\nfeatures: [site, mall\n")

    assert issue == ConfigIssue(
        "ptdemo.yaml",
        4,
        "",
        "invalid YAML: while parsing a flow sequence, expected ',' or ']', but got '<stream end>'",
    )


@pytest.mark.parametrize(("text", "line"), [("- code\n- name\n", 1), ("", 1), ("# only a comment\n\nptdemo\n", 3)])
def test_document_that_is_not_a_mapping_is_refused(text, line):
    issue = only_issue(text)

    assert issue == ConfigIssue("ptdemo.yaml", line, "", "expected a mapping of keys, starting with code and name")


def test_duplicate_feature_points_at_the_repeat():
    issue = only_issue("code: ptdemo\nname: Demo\nfeatures:\n  - site\n  - mall\n  - site\n")

    assert issue == ConfigIssue("ptdemo.yaml", 6, "features[2]", "'site' is listed twice; expected each item once")


def test_key_written_twice_is_refused():
    issue = only_issue(MINIMAL + "binding: {max_bound_people: 3}\nbinding: {max_bound_people: 4}\n")

    assert issue == ConfigIssue("ptdemo.yaml", 5, "binding", "key written twice; expected each key once")


def test_recharge_min_above_max_is_refused():
    issue = only_issue(MINIMAL + "recharge:\n  presets: [100]\n  min: 500\n  max: 200\n")

    assert issue == ConfigIssue("ptdemo.yaml", 6, "recharge.min", "expected an amount no greater than max (200.00)")


def test_recharge_preset_outside_the_limits_is_refused():
    issue = only_issue(MINIMAL + "recharge:\n  presets: [50, 100000]\n")

    assert issue == ConfigIssue(
        "ptdemo.yaml", 5, "recharge.presets[1]", "expected an amount between min (1.00) and max (50000.00)"
    )


def test_missing_required_key_points_at_the_enclosing_mapping():
    issue = only_issue("# ptdemo\ncode: ptdemo\nfeatures: [site]\n")

    assert issue == ConfigIssue("ptdemo.yaml", 2, "name", "required key is missing")


def test_every_issue_is_reported_in_line_order():
    issues = issues_of("code: P\nname: Demo\ncolour: red\nbinding: {max_bound_people: 0}\n")

    assert [(issue.line, issue.path) for issue in issues] == [
        (1, "code"),
        (3, "colour"),
        (4, "binding.max_bound_people"),
    ]


def test_stored_data_issues_have_no_line():
    with pytest.raises(ConfigError) as caught:
        parse_config_data({"code": "ptdemo", "name": "Demo", "features": ["site", "shop"]}, filename="database")

    assert caught.value.issues == [
        ConfigIssue(
            "database",
            None,
            "features[1]",
            "expected one of: site, mall, appointments, reports, recharge, outpatient, distribution",
        )
    ]


def test_error_text_lists_one_issue_per_line():
    error = ConfigError(
        [ConfigIssue("a.yaml", 3, "payments.methods[2]", "expected one of: x"), ConfigIssue("db", None, "code", "bad")]
    )

    assert str(error) == "a.yaml:3: payments.methods[2]: expected one of: x\ndb: code: bad"


def test_config_cannot_be_changed_in_place():
    config = parse_config(MINIMAL)

    with pytest.raises(ValueError, match="frozen"):
        config.name = "Other"  # type: ignore[misc]

    assert config.name == "Demo Hospital"


# --- Schema and diff ---------------------------------------------------------------------


def test_json_schema_is_deterministic_and_covers_every_section():
    schema = config_json_schema()

    assert json.dumps(schema, sort_keys=False) == json.dumps(config_json_schema(), sort_keys=False)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "Hospital configuration"
    assert schema["required"] == ["code", "name"]
    assert set(schema["properties"]) == set(HospitalConfig.model_fields)
    assert schema["additionalProperties"] is False


def test_json_schema_describes_durations_and_money_as_written_in_yaml():
    schema = config_json_schema()

    timeout = schema["$defs"]["Payments"]["properties"]["unpaid_order_timeout"]
    money = schema["$defs"]["Withdrawal"]["properties"]["min"]
    assert timeout["default"] == "30m"
    assert [option["type"] for option in timeout["anyOf"]] == ["string", "integer"]
    assert money["default"] == "10.00"
    assert [option["type"] for option in money["anyOf"]] == ["string", "number"]


def test_diff_of_equal_configs_is_empty():
    data = config_to_data(parse_config(EXAMPLE))

    assert diff_configs(data, json.loads(json.dumps(data))) == []


def test_diff_lists_changed_added_and_removed_values():
    old = config_to_data(parse_config(MINIMAL))
    new_text = (
        "code: ptdemo\nname: Demo Hospital\nfeatures: [site, recharge]\n"
        "payments:\n  wechat: {enabled: false, notice: 维护中}\n"
        "notifications:\n  wechat_templates: {refund: TPL_REFUND}\n"
    )
    new = config_to_data(parse_config(new_text))

    assert diff_configs(old, new) == [
        "+ features[1]: recharge",
        "payments.wechat.enabled: true -> false",
        'payments.wechat.notice: "" -> 维护中',
        "+ notifications.wechat_templates.refund: TPL_REFUND",
    ]


def test_diff_marks_removed_list_items_and_keys():
    old = {"features": ["site", "mall", "reports"], "profile": {"phone": "1", "fax": "2"}}
    new = {"features": ["site", "reports"], "profile": {"phone": "3"}}

    assert diff_configs(old, new) == [
        "- features[1]: mall",
        "profile.phone: 1 -> 3",
        "- profile.fax: 2",
    ]


def test_diff_from_nothing_lists_every_leaf():
    lines = diff_configs({}, config_to_data(parse_config(MINIMAL)))

    assert lines[:3] == ["+ code: ptdemo", "+ name: Demo Hospital", '+ profile.phone: ""']
    assert '+ features: ["site"]' in lines
    assert "+ payments.unpaid_order_timeout: 30m" in lines

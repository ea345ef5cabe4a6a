"""A hospital's configuration: the schema, YAML parsing with located errors, export and diff.

Every knob a hospital can turn is a field of a frozen pydantic model below. The module imports
no Django, so the onboarding command, the admin, the models and plain unit tests share it.
"""

import dataclasses
import difflib
import json
import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

import yaml
from croniter import croniter
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictInt,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import ErrorDetails, PydanticCustomError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Feature = Literal["site", "mall", "appointments", "reports", "recharge", "outpatient", "distribution"]
PaymentMethod = Literal["balance", "at_hospital", "wechat"]
IdentityField = Literal["name", "id_number", "phone", "medical_card_number"]
NotificationEvent = Literal[
    "order_paid",
    "order_cancelled",
    "appointment_booked",
    "appointment_cancelled",
    "appointment_reminder",
    "report_ready",
    "refund",
    "pay_later_reminder",
    "withdrawal",
    "distributor_review",
    "recharge",
]

# --- Value types -------------------------------------------------------------------------

_DURATION_PATTERN = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_DURATION_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
# Far beyond any sensible setting, and well inside what timedelta can hold.
_MAX_DURATION_SECONDS = 100 * 365 * 86400


def _duration_seconds(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, timedelta) and not value.microseconds:
        return value.days * 86400 + value.seconds
    if isinstance(value, str) and value.strip():
        match = _DURATION_PATTERN.fullmatch(value.strip())
        if match:
            counts = zip(match.groups(), _DURATION_UNITS, strict=True)
            return sum(int(count) * size for count, (_, size) in counts if count)
    return None


def parse_duration(value: object) -> timedelta:
    """Read a duration written as "30s", "2h", "1h30m", "7d" or a number of seconds."""
    seconds = _duration_seconds(value)
    if seconds is None or not 0 <= seconds <= _MAX_DURATION_SECONDS:
        raise PydanticCustomError("duration", "expected a duration such as 30m, 2h or 7d")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """Write a duration in its canonical compact form, such as "1h30m" or "0s"."""
    remaining = int(value.total_seconds())
    parts = []
    for unit, size in _DURATION_UNITS:
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, Decimal | int | str):
            number = Decimal(str(value).strip())
        elif isinstance(value, float):
            number = Decimal(repr(value))  # the shortest repr, so 0.1 reads as 0.1
        else:
            return None
    except InvalidOperation:
        return None
    # abs() turns a written "-0" into plain 0 so it serialises without a sign.
    return abs(number) if number.is_finite() and number.is_zero() else number


def _decimal_places(number: Decimal) -> int:
    exponent = number.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def parse_money(value: object) -> Decimal:
    """Read an amount of money: not negative, at most 2 decimal places and 10 integer digits."""
    number = _decimal(value)
    if number is None or not number.is_finite() or number < 0 or _decimal_places(number) > 2 or number.adjusted() >= 10:
        raise PydanticCustomError(
            "money", "expected an amount of money such as 10.00 (not negative, at most 2 decimals)"
        )
    return number.quantize(Decimal("0.01"))


def parse_rate(value: object) -> Decimal:
    """Read a rate between 0 and 1 with at most 4 decimal places, such as "0.05"."""
    number = _decimal(value)
    if number is None or not number.is_finite() or not 0 <= number <= 1 or _decimal_places(number) > 4:
        raise PydanticCustomError("rate", 'expected a rate between 0 and 1 with at most 4 decimals, such as "0.05"')
    return number.normalize()


def _check_cron(value: str) -> str:
    if len(value.split()) != 5 or not croniter.is_valid(value):
        raise PydanticCustomError("cron", "expected a cron expression such as '0 9 * * *'")
    return value


def _matching(pattern: str, message: str, *, allow_empty: bool = False) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if (allow_empty and value == "") or compiled.fullmatch(value):
            return value
        raise PydanticCustomError("pattern", message)

    return AfterValidator(check)


def _pattern_schema(pattern: str, *, allow_empty: bool = False) -> WithJsonSchema:
    anchored = f"^({pattern})?$" if allow_empty else f"^{pattern}$"
    return WithJsonSchema({"type": "string", "pattern": anchored})


_CODE = r"[a-z][a-z0-9_-]{1,31}"
_ENV_VAR_NAME = r"[A-Z][A-Z0-9_]*"
_WECHAT_APP_ID = r"wx[0-9a-zA-Z]{16}"
_DIGITS = r"\d+"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^(?=\d)(\d+d)?(\d+h)?(\d+m)?(\d+s)?$"},
                {"type": "integer", "minimum": 0},
            ],
            "description": "A duration such as 30s, 30m, 2h, 7d or 1h30m, or a number of seconds.",
        }
    ),
]
Money = Annotated[
    Decimal,
    BeforeValidator(parse_money),
    PlainSerializer(lambda value: f"{value:.2f}", return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "pattern": r"^\d{1,10}(\.\d{1,2})?$"}, {"type": "number", "minimum": 0}],
            "description": 'An amount of money in yuan, such as "10.00".',
        }
    ),
]
PositiveMoney = Annotated[Money, Field(gt=0)]
Rate = Annotated[
    Decimal,
    BeforeValidator(parse_rate),
    PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^(0(\.\d{1,4})?|1(\.0{1,4})?)$"},
                {"type": "number", "minimum": 0, "maximum": 1},
            ],
            "description": 'A rate between 0 and 1, such as "0.05" for 5%.',
        }
    ),
]
Cron = Annotated[
    str,
    AfterValidator(_check_cron),
    WithJsonSchema({"type": "string", "description": "A 5-field cron expression such as '0 9 * * *'."}),
]
EnvVarName = Annotated[
    str,
    _matching(
        _ENV_VAR_NAME,
        "expected the name of an environment variable, such as HIS_TOKEN; "
        "secrets are never written in the file, only the variable that holds them",
    ),
    _pattern_schema(_ENV_VAR_NAME),
]
Code = Annotated[
    str,
    _matching(_CODE, "expected a code of 2 to 32 lowercase letters, digits, - or _, starting with a letter"),
    _pattern_schema(_CODE),
]
WechatAppId = Annotated[
    str,
    _matching(_WECHAT_APP_ID, "expected an app id such as wx0123456789abcdef", allow_empty=True),
    _pattern_schema(_WECHAT_APP_ID, allow_empty=True),
]
MerchantId = Annotated[
    str,
    _matching(_DIGITS, 'expected a merchant id made of digits, such as "1900000000"', allow_empty=True),
    _pattern_schema(_DIGITS, allow_empty=True),
]

_Item = TypeVar("_Item")


def _no_duplicates(items: tuple[_Item, ...]) -> tuple[_Item, ...]:
    for index, item in enumerate(items):
        if item in items[:index]:
            raise PydanticCustomError(
                "duplicate", "'{item}' is listed twice; expected each item once", {"item": item, "at": (index,)}
            )
    return items


def _misplaced(at: tuple[str | int, ...], message: str) -> PydanticCustomError:
    """An error raised by a section-wide check, pointed at the offending key `at` inside the section."""
    return PydanticCustomError("invalid_value", message, {"at": at})


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


Unique = AfterValidator(_no_duplicates)

# --- The schema --------------------------------------------------------------------------


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Profile(_Section):
    """How the hospital presents itself on its site."""

    phone: str = ""
    address: str = ""
    intro: str = ""
    logo: str = Field("", description="URL or static path of the logo image.")


class PaymentMethodSettings(_Section):
    """A payment method's switch and the notice shown beside it (e.g. "under maintenance")."""

    enabled: StrictBool = True
    notice: str = ""


class Payments(_Section):
    """Payment methods in display order; a method not listed is off."""

    methods: Annotated[tuple[PaymentMethod, ...], Field(min_length=1), Unique] = ("at_hospital",)
    balance: PaymentMethodSettings = PaymentMethodSettings()
    at_hospital: PaymentMethodSettings = PaymentMethodSettings()
    wechat: PaymentMethodSettings = PaymentMethodSettings()
    unpaid_order_timeout: Duration = timedelta(minutes=30)

    def method_settings(self, name: str) -> PaymentMethodSettings:
        """The switch and notice of the payment method `name`; KeyError for an unknown method."""
        return {"balance": self.balance, "at_hospital": self.at_hospital, "wechat": self.wechat}[name]

    def method_available(self, name: str) -> bool:
        """Whether patients may pay with `name`: it is listed and enabled."""
        return name in self.methods and self.method_settings(name).enabled

    def method_notice(self, name: str) -> str:
        """The notice shown beside the payment method `name` ("" when none)."""
        return self.method_settings(name).notice


class PasswordPolicy(_Section):
    """The balance payment password and how wrong guesses lock it."""

    length: StrictInt = Field(6, ge=4, le=12)
    digits_only: StrictBool = True
    lock_after_failures: StrictInt = Field(5, ge=1, le=20)
    lock_for: Duration = timedelta(minutes=30)


class Balance(_Section):
    """The prepaid balance."""

    password: PasswordPolicy = PasswordPolicy()


class Recharge(_Section):
    """Topping up the balance."""

    presets: tuple[PositiveMoney, ...] = tuple(Decimal(f"{amount}.00") for amount in (50, 100, 500, 1000, 2000))
    min: PositiveMoney = Decimal("1.00")
    max: Money = Decimal("50000.00")

    @model_validator(mode="after")
    def _check_bounds(self) -> "Recharge":
        if self.min > self.max:
            raise _misplaced(("min",), f"expected an amount no greater than max ({self.max})")
        for index, preset in enumerate(self.presets):
            if not self.min <= preset <= self.max:
                raise _misplaced(
                    ("presets", index), f"expected an amount between min ({self.min}) and max ({self.max})"
                )
        return self


class MergeRules(_Section):
    """Paying several prescriptions in one payment."""

    enabled: StrictBool = False
    max_prescriptions: StrictInt = Field(10, ge=1, le=50)
    same_department_only: StrictBool = False
    same_kind_only: StrictBool = False


class PayLater(_Section):
    """Treatment first, payment afterwards."""

    enabled: StrictBool = False
    remind_at: Cron = "0 9 * * *"
    block_booking_while_unpaid: StrictBool = True


class Insurance(_Section):
    """Medical insurance settlement."""

    enabled: StrictBool = False


class Outpatient(_Section):
    """Outpatient prescriptions and how they are paid."""

    prescription_validity: Duration = timedelta(hours=24)
    merge: MergeRules = MergeRules()
    pay_later: PayLater = PayLater()
    insurance: Insurance = Insurance()
    scan_to_pay_without_binding: StrictBool = False


class NoShowPolicy(_Section):
    """How many missed appointments within a window block further booking."""

    limit: StrictInt = Field(3, ge=0, le=100)
    window_days: StrictInt = Field(90, ge=1, le=365)


class Appointments(_Section):
    """Booking doctors' time slots."""

    booking_window_days: StrictInt = Field(14, ge=1, le=90)
    cancel_deadline: Duration = Field(timedelta(hours=2), description="How long before the slot starts.")
    allow_unbound_booking: StrictBool = False
    no_show: NoShowPolicy = NoShowPolicy()
    reminder_at: Cron = "0 18 * * *"


class Binding(_Section):
    """Binding an account to patient records."""

    require_existing_record: StrictBool = True
    identify_by: Annotated[tuple[IdentityField, ...], Field(min_length=1), Unique] = ("name", "id_number")
    max_bound_people: StrictInt = Field(5, ge=1, le=20)


class Commission(_Section):
    """What distributors earn."""

    direct_rate: Rate = Decimal("0")
    team_rate: Rate = Decimal("0")
    invite_reward: Money = Decimal("0.00")
    invite_reward_on: Literal["approved", "first_sale"] = "approved"

    @model_validator(mode="after")
    def _check_total(self) -> "Commission":
        if self.direct_rate + self.team_rate > 1:
            raise _misplaced(("team_rate",), "expected direct_rate + team_rate to be at most 1")
        return self


class Withdrawal(_Section):
    """Distributors withdrawing their commission."""

    review: StrictBool = True
    min: Money = Decimal("10.00")
    max_per_day: Money = Decimal("2000.00")
    fee_rate: Rate = Decimal("0")

    @model_validator(mode="after")
    def _check_bounds(self) -> "Withdrawal":
        if self.min > self.max_per_day:
            raise _misplaced(("min",), f"expected an amount no greater than max_per_day ({self.max_per_day})")
        return self


class Distribution(_Section):
    """Distributors who sell for the hospital and earn commission."""

    review_applications: StrictBool = True
    invite_code_required: StrictBool = False
    commission: Commission = Commission()
    settle_after_days: StrictInt = Field(7, ge=0, le=365, description="Days after the order completes.")
    withdrawal: Withdrawal = Withdrawal()


class Sms(_Section):
    """Text messages."""

    provider: Literal["console", "none"] = "console"
    sign: str = ""
    templates: dict[str, str] = Field(default_factory=dict)


class Notifications(_Section):
    """Messages sent to patients and distributors."""

    wechat_templates: dict[NotificationEvent, Annotated[str, Field(min_length=1)]] = Field(default_factory=dict)
    sms: Sms = Sms()


class HisIntegration(_Section):
    """The hospital information system that holds patients, prescriptions and reports."""

    adapter: Literal["none", "http", "fake"] = "none"
    base_url: str = Field("", description="An http:// or https:// URL; required when adapter is http.")
    timeout: Duration = timedelta(seconds=5)
    retries: StrictInt = Field(2, ge=0, le=5)
    token_env: EnvVarName | None = None

    @model_validator(mode="after")
    def _check_base_url(self) -> "HisIntegration":
        if (self.adapter == "http" or self.base_url) and not _is_http_url(self.base_url):
            raise _misplaced(("base_url",), "expected an http:// or https:// URL (required when adapter is http)")
        return self


class WechatIntegration(_Section):
    """The WeChat official account and merchant; secrets are named by environment variable."""

    sandbox: StrictBool = Field(False, description="Demo only: a sign-in that skips WeChat.")
    app_id: WechatAppId = ""
    app_secret_env: EnvVarName | None = None
    mch_id: MerchantId = ""
    api_key_env: EnvVarName | None = None
    notify_base_url: str = Field("", description="An http:// or https:// URL.")

    @model_validator(mode="after")
    def _check_notify_url(self) -> "WechatIntegration":
        if self.notify_base_url and not _is_http_url(self.notify_base_url):
            raise _misplaced(("notify_base_url",), "expected an http:// or https:// URL")
        return self


class Integrations(_Section):
    """External systems."""

    his: HisIntegration = HisIntegration()
    wechat: WechatIntegration = WechatIntegration()


class HospitalConfig(_Section):
    """The configuration of one hospital."""

    code: Code
    name: str = Field(min_length=1, max_length=100)
    profile: Profile = Profile()
    features: Annotated[tuple[Feature, ...], Unique] = ("site",)
    payments: Payments = Payments()
    balance: Balance = Balance()
    recharge: Recharge = Recharge()
    outpatient: Outpatient = Outpatient()
    appointments: Appointments = Appointments()
    binding: Binding = Binding()
    distribution: Distribution = Distribution()
    notifications: Notifications = Notifications()
    integrations: Integrations = Integrations()

    def has_feature(self, name: str) -> bool:
        """Whether the feature `name` is switched on."""
        return name in self.features

    def method_available(self, name: str) -> bool:
        """Whether patients may pay with `name` (see `Payments.method_available`)."""
        return self.payments.method_available(name)


# --- Errors ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ConfigIssue:
    """One problem in a configuration: where it is and what was expected."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(Exception):
    """A configuration that cannot be used; `issues` lists every problem found."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(issue) for issue in issues))


Loc = tuple[str | int, ...]


def _format_path(loc: Loc) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != "[key]":
            path = f"{path}.{part}" if path else part
    return path


def _section_at(loc: Loc) -> type[BaseModel] | None:
    section: type[BaseModel] = HospitalConfig
    for part in loc:
        field = section.model_fields.get(part) if isinstance(part, str) else None
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        section = annotation
    return section


def _unknown_key_message(loc: Loc) -> str:
    key, section = str(loc[-1]), _section_at(loc[:-1])
    if section is None:
        return f"unknown key '{key}'"
    allowed = list(section.model_fields)
    if f"{key}_env" in allowed:
        return f"write {key}_env: NAME_OF_ENV_VAR; secrets are never written in the file"
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown key '{key}'; {hint}expected one of: {', '.join(allowed)}"


def _string_expected(error: ErrorDetails) -> str:
    if isinstance(error["input"], int | float) and not isinstance(error["input"], bool):
        return f'expected a string; put numbers in quotes, such as "{error["input"]}"'
    return "expected a string"


_PLAIN_MESSAGES = {
    "missing": "required key is missing",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "dict_type": "expected a mapping of keys to values",
    "model_type": "expected a mapping of keys to values",
    "model_attributes_type": "expected a mapping of keys to values",
}
_BOUND_MESSAGES = {
    "greater_than_equal": ("ge", "expected a number of at least {}"),
    "less_than_equal": ("le", "expected a number of at most {}"),
    "greater_than": ("gt", "expected a number greater than {}"),
    "less_than": ("lt", "expected a number less than {}"),
    "too_short": ("min_length", "expected at least {} item{s}"),
    "too_long": ("max_length", "expected at most {} item{s}"),
    "string_too_short": ("min_length", "expected at least {} character{s}"),
    "string_too_long": ("max_length", "expected at most {} character{s}"),
}


def _explain(error: ErrorDetails) -> str:
    kind, context = error["type"], error.get("ctx", {})
    if kind == "extra_forbidden":
        return _unknown_key_message(error["loc"])
    if kind == "literal_error":
        return "expected one of: " + ", ".join(re.findall(r"'([^']*)'", context["expected"]))
    if kind == "string_type":
        return _string_expected(error)
    if kind in _PLAIN_MESSAGES:
        return _PLAIN_MESSAGES[kind]
    if kind in _BOUND_MESSAGES:
        key, template = _BOUND_MESSAGES[kind]
        return template.format(context[key], s="" if context[key] == 1 else "s")
    return error["msg"].removeprefix("Value error, ")


# --- YAML --------------------------------------------------------------------------------


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _line_at(root: Node | None, loc: Loc) -> int | None:
    """The line of the key (or list item) at `loc`, else of the nearest enclosing key found."""
    if root is None:
        return None
    node, line = root, _line(root)
    for part in loc:
        if part == "[key]":
            break
        if isinstance(node, MappingNode) and isinstance(part, str):
            pair = next(((key, value) for key, value in reversed(node.value) if key.value == part), None)
            if pair is None:
                break
            line, node = _line(pair[0]), pair[1]
        elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = _line(node)
        else:
            break
    return line


def _load_yaml(text: str, filename: str) -> tuple[Node | None, Any]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = ", ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
        raise ConfigError([ConfigIssue(filename, line, "", f"invalid YAML: {problem}")]) from exc
    finally:
        loader.dispose()


def _duplicate_keys(node: Node, loc: Loc, filename: str, seen: set[int]) -> list[ConfigIssue]:
    # Plain YAML lets the last of two equal keys win silently, which hides typos and merges.
    if id(node) in seen:
        return []
    seen.add(id(node))
    issues: list[ConfigIssue] = []
    children: list[tuple[str | int, Node]] = []
    if isinstance(node, MappingNode):
        names: set[str] = set()
        for key, value in node.value:
            name = key.value if isinstance(key, ScalarNode) else "?"
            if name in names:
                path = _format_path((*loc, name))
                issues.append(ConfigIssue(filename, _line(key), path, "key written twice; expected each key once"))
            if isinstance(key, ScalarNode):
                names.add(name)
            children.append((name, value))
    elif isinstance(node, SequenceNode):
        children = list(enumerate(node.value))
    for part, child in children:
        issues += _duplicate_keys(child, (*loc, part), filename, seen)
    return issues


_NOT_A_MAPPING = "expected a mapping of keys, starting with code and name"


def _validate(data: object, *, filename: str, root: Node | None, issues: list[ConfigIssue]) -> HospitalConfig:
    if not isinstance(data, dict):
        line = _line(root) if root is not None else None
        raise ConfigError([ConfigIssue(filename, line, "", _NOT_A_MAPPING)])
    try:
        config = HospitalConfig.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = (*error["loc"], *error.get("ctx", {}).get("at", ()))
            issues.append(ConfigIssue(filename, _line_at(root, loc), _format_path(loc), _explain(error)))
    if issues:
        raise ConfigError(sorted(issues, key=lambda issue: issue.line or 0))
    return config


def parse_config(text: str, *, filename: str = "<config>") -> HospitalConfig:
    """Parse and validate a YAML configuration; raise ConfigError naming each problem's line."""
    root, data = _load_yaml(text, filename)
    if root is None:
        # An empty file has no node to point at; its problem is on the first line.
        raise ConfigError([ConfigIssue(filename, 1, "", _NOT_A_MAPPING)])
    issues = _duplicate_keys(root, (), filename, set())
    return _validate(data, filename=filename, root=root, issues=issues)


def parse_config_data(data: dict, *, filename: str = "<config>") -> HospitalConfig:
    """Validate an already-parsed configuration, such as the JSON stored in the database."""
    return _validate(data, filename=filename, root=None, issues=[])


def config_to_data(config: HospitalConfig) -> dict:
    """The full configuration, defaults included, as JSON-safe data."""
    return config.model_dump(mode="json")


def dump_config_yaml(config: HospitalConfig) -> str:
    """The full configuration as YAML that parses back to an equal configuration."""
    body = yaml.safe_dump(
        config_to_data(config), allow_unicode=True, sort_keys=False, default_flow_style=False, width=1000
    )
    return "# yaml-language-server: $schema=schema.json\n" + body


class _SchemaGenerator(GenerateJsonSchema):
    def encode_default(self, dflt: Any) -> Any:
        # Field defaults skip the field's serializer, so durations would read "PT30M".
        return format_duration(dflt) if isinstance(dflt, timedelta) else super().encode_default(dflt)


def config_json_schema() -> dict:
    """The JSON schema of a configuration file, for editor completion and checks."""
    schema = HospitalConfig.model_json_schema(mode="validation", schema_generator=_SchemaGenerator)
    schema["title"] = "Hospital configuration"
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


# --- Diff --------------------------------------------------------------------------------


def _show(value: object) -> str:
    if isinstance(value, str) and value and value == value.strip():
        return value
    return json.dumps(value, ensure_ascii=False)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _leaves(value: object, path: str) -> list[tuple[str, object]]:
    if isinstance(value, dict) and value:
        return [leaf for key, item in value.items() for leaf in _leaves(item, _join(path, str(key)))]
    return [(path, value)]


def _marked(sign: str, value: object, path: str) -> list[str]:
    return [f"{sign} {leaf_path}: {_show(leaf)}" for leaf_path, leaf in _leaves(value, path)]


def _diff_lists(old: list, new: list, path: str) -> list[str]:
    keys = [[json.dumps(item, sort_keys=True) for item in items] for items in (old, new)]
    lines: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, *keys, autojunk=False).get_opcodes():
        if tag == "replace" and i2 - i1 == j2 - j1:
            for offset in range(i2 - i1):
                lines += _diff(old[i1 + offset], new[j1 + offset], f"{path}[{j1 + offset}]")
        elif tag != "equal":
            lines += [line for i in range(i1, i2) for line in _marked("-", old[i], f"{path}[{i}]")]
            lines += [line for j in range(j1, j2) for line in _marked("+", new[j], f"{path}[{j}]")]
    return lines


def _diff(old: object, new: object, path: str) -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        lines: list[str] = []
        for key, value in new.items():
            subpath = _join(path, str(key))
            lines += _diff(old[key], value, subpath) if key in old else _marked("+", value, subpath)
        for key, value in old.items():
            if key not in new:
                lines += _marked("-", value, _join(path, str(key)))
        return lines
    if isinstance(old, list) and isinstance(new, list):
        return _diff_lists(old, new, path)
    if old == new and type(old) is type(new):
        return []
    return [f"{path}: {_show(old)} -> {_show(new)}"]


def diff_configs(old: dict, new: dict) -> list[str]:
    """Readable changes from `old` to `new` configuration data, one per line, in a stable order.

    A change reads `path: old -> new`; a key or list item only in `new` reads `+ path: value`
    and one only in `old` reads `- path: value`.
    """
    return _diff(old, new, "")

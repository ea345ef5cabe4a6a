"""The value types of a hospital configuration: durations, money, rates, cron, codes and names.

Each is an annotated type that parses what people write in YAML, serialises to a canonical
string and describes itself in the JSON schema.
"""

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal, TypeVar

from croniter import croniter
from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

Feature = Literal["site", "mall", "appointments", "reports", "recharge", "outpatient", "distribution"]
PaymentMethod = Literal["balance", "at_hospital", "wechat"]
IdentityField = Literal["name", "id_number", "phone", "medical_card_number"]
NotificationEvent = Literal[
    "order_placed",
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


Unique = AfterValidator(_no_duplicates)

"""Personal identity data: validation, encryption at rest, keyed hashes for matching, masking.

ID numbers are stored encrypted (Fernet from `cryptography`; `HCM_FIELD_KEYS` lists keys
newest first, so an old key still decrypts while rows are re-encrypted) and matched through
an HMAC-SHA256 digest keyed with `HCM_LOOKUP_KEY`, so an equality search never decrypts and
a stolen database alone reveals neither the numbers nor a way to test guesses.
"""

import functools
import hashlib
import hmac
import re

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.translation import gettext_lazy as _

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_PATTERN = re.compile(r"\d{17}[\dX]")
_PHONE_PATTERN = re.compile(r"1\d{10}")


def normalize_id_number(value: str) -> str:
    return (value or "").strip().upper()


def id_number_check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of a resident identity number."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def validate_id_number(value: str) -> None:
    """An 18-character resident identity number whose check character is right."""
    number = normalize_id_number(value)
    if not _ID_PATTERN.fullmatch(number) or id_number_check_digit(number[:17]) != number[17]:
        raise ValidationError(_("Enter a valid 18-character ID number."), code="invalid_id_number")


def validate_phone(value: str) -> None:
    if not _PHONE_PATTERN.fullmatch((value or "").strip()):
        raise ValidationError(_("Enter an 11-digit mobile phone number."), code="invalid_phone")


@functools.cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as error:
        raise ImproperlyConfigured(f"HCM_FIELD_KEYS holds an invalid Fernet key: {error}") from None


def encrypt(value: str) -> str:
    return _fernet(tuple(settings.HCM_FIELD_KEYS)).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(tuple(settings.HCM_FIELD_KEYS)).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured("A stored value cannot be decrypted with HCM_FIELD_KEYS.") from None


def lookup_hash(value: str) -> str:
    """The keyed digest that equality matching uses instead of the plain value."""
    key = settings.HCM_LOOKUP_KEY.encode()
    return hmac.new(key, normalize_id_number(value).encode(), hashlib.sha256).hexdigest()


def mask_name(name: str) -> str:
    """尤小明 -> 尤**: the family name and one star per hidden character."""
    name = (name or "").strip()
    return name[:1] + "*" * (len(name) - 1) if name else ""


def mask_id_number(number: str) -> str:
    """350321199001011257 -> 3503****1257."""
    number = normalize_id_number(number)
    return f"{number[:4]}****{number[-4:]}" if len(number) > 8 else "****"


def mask_phone(phone: str) -> str:
    """13812345678 -> 138****5678."""
    phone = (phone or "").strip()
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) > 7 else "****"


def mask_tail(value: str, keep: int = 4) -> str:
    """A card number shown by its last digits: ****5678."""
    value = (value or "").strip()
    return "****" + value[-keep:] if value else ""

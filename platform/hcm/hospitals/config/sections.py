"""The sections of a hospital configuration and HospitalConfig, the model that holds them all."""

from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator
from pydantic_core import PydanticCustomError

from hcm.hospitals.config.values import (
    Code,
    Cron,
    Duration,
    EnvVarName,
    Feature,
    IdentityField,
    MerchantId,
    Money,
    NotificationEvent,
    PaymentMethod,
    PositiveMoney,
    Rate,
    Unique,
    WechatAppId,
)


def _misplaced(at: tuple[str | int, ...], message: str) -> PydanticCustomError:
    """An error raised by a section-wide check, pointed at the offending key `at` inside the section."""
    return PydanticCustomError("invalid_value", message, {"at": at})


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


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
    official_account_qr: StrictBool = Field(
        False,
        description=(
            "Invitation QR codes are the official account's parametric QR codes, so scanning also offers "
            "to follow the account (needs integrations.wechat.app_id and app_secret_env)."
        ),
    )


class Sms(_Section):
    """Text messages."""

    # "none" by default: the console provider writes verification codes to the log (demos only).
    provider: Literal["console", "none"] = "none"
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
    push_secret_env: EnvVarName | None = Field(
        None, description="Variable holding the HMAC-SHA256 key the HIS signs its pushes (new reports) with."
    )

    @model_validator(mode="after")
    def _check_base_url(self) -> "HisIntegration":
        if (self.adapter == "http" or self.base_url) and not _is_http_url(self.base_url):
            raise _misplaced(("base_url",), "expected an http:// or https:// URL (required when adapter is http)")
        return self


class WechatIntegration(_Section):
    """The WeChat official account and merchant; secrets are named by environment variable."""

    sandbox: StrictBool = Field(
        False,
        description="Demo only: a sign-in that skips WeChat and, without a merchant key, sandbox WeChat Pay; "
        "refused with DEBUG off unless HCM_ALLOW_SANDBOX_HOSPITALS.",
    )
    app_id: WechatAppId = ""
    app_secret_env: EnvVarName | None = None
    mch_id: MerchantId = ""
    api_key_env: EnvVarName | None = None
    cert_path_env: EnvVarName | None = Field(None, description="Variable holding the merchant certificate's path.")
    key_path_env: EnvVarName | None = Field(None, description="Variable holding the certificate key's path.")
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
        """Whether the feature `name` is switched on (listed, or derived from other settings)."""
        derived = DERIVED_FEATURES.get(name)
        return derived(self) if derived else name in self.features

    def method_available(self, name: str) -> bool:
        """Whether patients may pay with `name` (see `Payments.method_available`)."""
        return self.payments.method_available(name)


# Features that are not listed under `features` but follow from other settings.
DERIVED_FEATURES = {
    # The prepaid balance card exists where patients may pay with it or top it up online.
    "balance": lambda config: "balance" in config.payments.methods or "recharge" in config.features,
}

"""What payments know of the things they pay for: a registry, not imports of mall or outpatient.

An app registers each payable model with the services that react to its payment:

    register_payable(Order, on_paid="hcm.mall.services.order_paid", on_refunded="...")

`on_paid(*, payable, payment)` runs in the transaction that marks the payment paid, with the
payable row locked, so the payable and the payment change together or not at all.
`on_refunded(*, payable, payment, refund)` runs when a refund has succeeded;
`on_closed(*, payable, payment)` when an unpaid WeChat payment was closed after asking WeChat
(e.g. a recharge nobody paid closes with it), both with the payable locked. The payable model
provides `hospital_id`, `payment_amount() -> Decimal` (what is due now, from its own rows,
never from the client), `payment_description() -> str` and `payment_open() -> bool` (whether
it may still be paid).
"""

from dataclasses import dataclass

from django.db import models
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class PayableHooks:
    on_paid: str
    on_refunded: str | None = None
    on_payment_started: str | None = None  # e.g. an order placed with "pay at the hospital"
    on_closed: str | None = None

    def call(self, hook: str, **kwargs) -> None:
        path = getattr(self, hook)
        if path:
            import_string(path)(**kwargs)


_PAYABLES: dict[str, PayableHooks] = {}


def register_payable(
    model: type[models.Model],
    *,
    on_paid: str,
    on_refunded: str | None = None,
    on_payment_started: str | None = None,
    on_closed: str | None = None,
) -> None:
    _PAYABLES[model._meta.label_lower] = PayableHooks(on_paid, on_refunded, on_payment_started, on_closed)


def hooks_for(payable: models.Model) -> PayableHooks:
    try:
        return _PAYABLES[payable._meta.label_lower]
    except KeyError:
        raise LookupError(f"{payable._meta.label} is not a registered payable") from None

"""Rows the write benchmarks of tools/bench.py need, made in the bench database, and the checks after them.

Run by bench.py with the bench environment (the same settings and database gunicorn uses), so
that it writes where the server reads; each command prints one JSON object on stdout:

  checkout CLIENTS ITERATIONS   one WeChat account per client process, bound to its own demo
                                patient record whose balance card holds enough for ITERATIONS
                                purchases, and a patient token for each (the key is printed
                                once: only its digest is stored)
  notify COUNT                  COUNT orders with a pending WeChat payment each (rows written
                                here, WeChat never called) and their signed payment notifications;
                                the key to sign with comes from BENCH_WECHAT_API_KEY, and the
                                answer names the variable the server reads it from
  verify-checkout SINCE IDS     what the checkout run left: orders, payments, ledger consistency
  verify-notify RUN             whether each notified payment was paid exactly once

Every run gets its own tag, so runs against the same database never see each other's rows.
"""

import json
import os
import secrets
import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOSPITAL = os.environ.get("BENCH_HOSPITAL", "ptdemo")
PASSWORD_DIGITS = "1357924680"


def _django() -> None:
    sys.path.insert(0, str(ROOT / "platform"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hcm.settings")
    import django

    django.setup()


def _hospital():
    from hcm.hospitals.models import Hospital

    return Hospital.objects.get(code=HOSPITAL)


def _cheapest_product(hospital):
    """The product every bench order buys: the cheapest on sale, so the cards need the least money."""
    from hcm.catalog.selectors import products_for_sale

    product = products_for_sale(hospital).order_by("price", "pk").first()
    if product is None:
        raise SystemExit(f"{hospital.code} has no product on sale; did load_fixtures run?")
    return product


def _patients(hospital, count: int) -> list:
    """`count` patient records, demo ones first; bench-only records only when the demo has too few."""
    from hcm.patients.models import PatientRecord

    records = list(PatientRecord.objects.filter(hospital=hospital).exclude(medical_card_number__startswith="BENCH-"))
    records.sort(key=lambda record: record.medical_card_number)
    for index in range(len(records), count):
        record, _created = PatientRecord.objects.get_or_create(
            hospital=hospital, medical_card_number=f"BENCH-{index:03d}", defaults={"name": f"压测{index:03d}"}
        )
        records.append(record)
    return records[:count]


def _bound_account(hospital, patient, openid: str):
    """A WeChat account acting for `patient` (bound, current person), as sign-in and binding leave it."""
    from hcm.patients.models import Binding, WechatAccount

    account, _created = WechatAccount.objects.update_or_create(
        hospital=hospital, openid=openid, defaults={"current_patient": patient, "nickname": openid}
    )
    Binding.objects.get_or_create(hospital=hospital, account=account, patient=patient)
    return account


def _funded_card(patient, *, password: str, amount: Decimal, reference: str):
    """The patient's card with a password the bench knows and `amount` more on it.

    A card left by an earlier run (or the demo) gets its password reset, which also clears a lock.
    """
    from hcm.wallet import services as wallet
    from hcm.wallet.selectors import account_for_patient

    card = account_for_patient(patient)
    if card is None:
        card = wallet.account_issue(patient=patient, password=password, operator=None)
    else:
        wallet.password_reset(account=card, password=password, operator=None)
    wallet.account_credit(account=card, amount=amount, kind="adjustment", reference=reference, note="Bench money")
    return card


def _password(hospital) -> str:
    policy = hospital.settings.balance.password
    if policy.digits_only:
        return (PASSWORD_DIGITS * 4)[: policy.length]
    return ("bench" + PASSWORD_DIGITS * 4)[: policy.length]


def checkout(clients: int, iterations: int) -> dict:
    """A signed-in patient per client process, each with its own card row (no lock shared between clients)."""
    from django.utils import timezone

    from hcm.patients.models import PatientToken

    hospital = _hospital()
    product = _cheapest_product(hospital)
    password = _password(hospital)
    run = secrets.token_hex(4)
    amount = (product.price * iterations).quantize(Decimal("0.01"))
    found = []
    for index, patient in enumerate(_patients(hospital, clients)):
        account = _bound_account(hospital, patient, f"bench-client-{index}")
        card = _funded_card(patient, password=password, amount=amount, reference=f"bench:{run}")
        PatientToken.objects.filter(account=account).delete()  # earlier runs' tokens
        _token, key = PatientToken.issue(account)
        found.append({"key": key, "account": account.pk, "patient": patient.medical_card_number, "card": card.pk})
    return {
        "product": product.pk,
        "price": str(product.price),
        "password": password,
        "clients": found,
        "since": timezone.now().isoformat(),
    }


def _signed_xml(data: dict, api_key: str) -> str:
    """WeChat Pay v2: MD5 over the sorted key=value pairs and the key (wechatpy computes the same)."""
    from wechatpy.pay.utils import calculate_signature, dict_to_xml

    data = {key: str(value) for key, value in data.items()}
    return dict_to_xml(data, calculate_signature(data, api_key))


def _notification(wechat, payment, index: int, api_key: str) -> str:
    from hcm.payments.wechatpay import to_fen

    fee = to_fen(payment.amount)
    return _signed_xml(
        {
            "appid": wechat.app_id,
            "bank_type": "CMC",
            "cash_fee": fee,
            "fee_type": "CNY",
            "is_subscribe": "Y",
            "mch_id": wechat.mch_id,
            "nonce_str": secrets.token_hex(16),
            "openid": payment.account.openid,
            "out_trade_no": payment.out_trade_no,
            "result_code": "SUCCESS",
            "return_code": "SUCCESS",
            "time_end": "20260101120000",
            "total_fee": fee,
            "trade_type": "JSAPI",
            "transaction_id": f"42{index:026d}",
        },
        api_key,
    )


def _pending_wechat_payment(order, run: str, index: int):
    """What hcm.payments.services._create writes for a WeChat payment, minus the call to WeChat."""
    from datetime import timedelta

    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from hcm.payments.models import Method, Payment

    return Payment.objects.create(
        hospital_id=order.hospital_id,
        payable_type=ContentType.objects.get_for_model(type(order)),
        payable_id=order.pk,
        description=order.payment_description()[:128],
        account=order.account,
        method=Method.WECHAT,
        amount=order.payment_amount(),
        out_trade_no=f"BENCH{run}{index:06d}",
        expires_at=timezone.now() + timedelta(minutes=15),
        prepay_id=f"bench-prepay-{run}-{index}",
    )


def notify(count: int) -> dict:
    """`count` orders awaiting a WeChat payment, and the notification WeChat would send for each."""
    from django.db import transaction

    from hcm.mall import services as mall

    api_key = os.environ["BENCH_WECHAT_API_KEY"]
    hospital = _hospital()
    wechat = hospital.settings.integrations.wechat
    if not (wechat.app_id and wechat.mch_id and wechat.api_key_env):
        raise SystemExit(f"{hospital.code} has no WeChat Pay merchant configured")
    product = _cheapest_product(hospital)
    patient = _patients(hospital, 1)[0]
    account = _bound_account(hospital, patient, "bench-notify")
    run = secrets.token_hex(4)
    bodies = []
    with transaction.atomic():
        for index in range(count):
            order = mall.order_create(account=account, patient=patient, lines=[mall.Line(product.pk, 1)])
            payment = _pending_wechat_payment(order, run, index)
            bodies.append(_notification(wechat, payment, index, api_key))
    return {"run": run, "api_key_env": wechat.api_key_env, "bodies": bodies}


def verify_checkout(since: str, account_ids: list[int]) -> dict:
    """Orders the bench accounts placed since `since`, by state; their balance payments; card ledgers."""
    from django.db.models import Count
    from django.utils.dateparse import parse_datetime

    from hcm.mall.models import Order
    from hcm.payments.models import Method, Payment
    from hcm.wallet.models import BalanceAccount, LedgerEntry
    from hcm.wallet.selectors import ledger_mismatches

    orders = Order.objects.filter(account_id__in=account_ids, created_at__gte=parse_datetime(since))
    states = dict(orders.values_list("state").annotate(n=Count("pk")).order_by())
    order_ids = list(orders.values_list("pk", flat=True))
    payments = Payment.objects.filter(
        payable_type__app_label="mall", payable_type__model="order", payable_id__in=order_ids, method=Method.BALANCE
    )
    cards = BalanceAccount.objects.filter(patient__bindings__account_id__in=account_ids).distinct()
    purchases = LedgerEntry.objects.filter(
        account__in=cards,
        kind="purchase",
        reference__in=[f"payment:{pk}" for pk in payments.values_list("pk", flat=True)],
    )
    return {
        "orders": orders.count(),
        "order_states": states,
        "balance_payments_paid": payments.filter(state="paid").count(),
        "balance_payments_other": payments.exclude(state="paid").count(),
        "purchase_entries": purchases.count(),
        "cards_not_adding_up": len(ledger_mismatches(cards)),
    }


def verify_notify(run: str) -> dict:
    """Each payment of run `run` should be paid once: paid state, its order paid, one mark_paid logged, no refund."""
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import Count

    from hcm.lowcode.models import TransitionLog
    from hcm.mall.models import Order
    from hcm.payments.models import Payment, Refund

    payments = Payment.objects.filter(out_trade_no__startswith=f"BENCH{run}")
    order_ids = list(payments.values_list("payable_id", flat=True))
    logged = (
        TransitionLog.objects.filter(
            content_type=ContentType.objects.get_for_model(Order),
            object_id__in=[str(pk) for pk in order_ids],
            transition="mark_paid",
        )
        .values("object_id")
        .annotate(n=Count("pk"))
    )
    per_order = [row["n"] for row in logged]
    return {
        "payments": payments.count(),
        "payment_states": dict(payments.values_list("state").annotate(n=Count("pk")).order_by()),
        "orders_paid": Order.objects.filter(pk__in=order_ids, state="paid").count(),
        "orders_marked_paid_once": sum(1 for n in per_order if n == 1),
        "orders_marked_paid_more": sum(1 for n in per_order if n > 1),
        "refunds": Refund.objects.filter(payment__in=payments).count(),
    }


def main() -> None:
    _django()
    command, *args = sys.argv[1:]
    if command == "checkout":
        result = checkout(int(args[0]), int(args[1]))
    elif command == "notify":
        result = notify(int(args[0]))
    elif command == "verify-checkout":
        result = verify_checkout(args[0], [int(pk) for pk in args[1].split(",")])
    elif command == "verify-notify":
        result = verify_notify(args[0])
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

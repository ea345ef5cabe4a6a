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
  outpatient CLIENTS AMOUNT HIS points the hospital's HIS at the bench's fake (HIS, its base URL)
                                and makes one WeChat account per client process bound to its own
                                demo patient (the checkout clients' patients, whom the fake knows),
                                AMOUNT more on the card, a token; the HIS patient ids and merge rules
  verify-outpatient SINCE IDS   what the merged payments left: states, settled lines, charges, cards
  reminders BILLS PATIENTS HIS  times hcm.outpatient.tasks.send_pay_later_reminders over BILLS unpaid
                                pay-later bills of PATIENTS bound bench patients, twice with the fake
                                HIS answering with the bills and twice with it failing (500), and
                                removes the bills and reminders again

Every run gets its own tag, so runs against the same database never see each other's rows.
"""

import copy
import json
import logging
import os
import secrets
import sys
import time
import urllib.request
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOSPITAL = os.environ.get("BENCH_HOSPITAL", "ptdemo")
PASSWORD_DIGITS = "1357924680"
REMINDER_PREFIX = "BENCH-PL"  # medical card numbers (and HIS ids) of the reminder bench's patients
REMINDER_BILL_PREFIX = "BENCHPL"  # numbers of its pay-later bills: BENCHPL<run><index>


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


# --- outpatient payment against the fake HIS ------------------------------------------------


def his_control(base_url: str, path: str, body: dict | None = None, timeout: float = 120) -> dict:
    """A call to the fake HIS's control endpoints (hcm.his.fake), which no switch affects."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base_url + path, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def _point_his(base_url: str):
    """The hospital's HIS at `base_url` (the bench's fake on its free port), saved as an edit of
    the stored config would be; the config is re-onboarded from configs/ at every bench start."""
    from hcm.hospitals.config import parse_config_data
    from hcm.hospitals.services import hospital_config_update

    hospital = _hospital()
    data = copy.deepcopy(hospital.config)
    data["integrations"]["his"].update(adapter="http", base_url=base_url)
    hospital_config_update(hospital=hospital, config=parse_config_data(data, filename="bench"), author=None)
    return _hospital()


def _id_number(serial: int) -> str:
    """A valid resident ID number (right check digit), as tests/factories.py builds them."""
    from hcm.patients.identity import id_number_check_digit

    first17 = f"350321{19500101 + serial % 28:08d}{serial % 1000:03d}"
    return first17 + id_number_check_digit(first17)


def _his_patient_id(hospital, patient, base_url: str) -> str:
    """The patient's id in the fake HIS, asked through our real adapter; a bench-only record (more
    clients than demo patients) is added to the fake first."""
    from hcm.his.contract import adapter_for

    found = adapter_for(hospital).find_patient(medical_card_number=patient.medical_card_number)
    if found is not None:
        return found.his_patient_id
    entry = {
        "his_patient_id": patient.medical_card_number,
        "name": patient.name,
        "medical_card_number": patient.medical_card_number,
        "phone": "13800000000",
        "id_number": _id_number(patient.pk),
        "insured": False,
    }
    his_control(base_url, "/_control/patients", {"hospital": hospital.code, "patients": [entry]})
    return patient.medical_card_number


def outpatient(clients: int, amount: str, base_url: str) -> dict:
    """Signed-in patients for the outpatient measurements, the HIS pointed at the fake first.

    Own WeChat accounts (not the checkout clients': issuing a token here would revoke theirs),
    bound to the same demo patients, whose cards get `amount` more for the merged payments.
    """
    from django.utils import timezone

    from hcm.patients.models import PatientToken

    hospital = _point_his(base_url)
    password = _password(hospital)
    run = secrets.token_hex(4)
    found = []
    for index, patient in enumerate(_patients(hospital, clients)):
        account = _bound_account(hospital, patient, f"bench-outpatient-{index}")
        card = _funded_card(patient, password=password, amount=Decimal(amount), reference=f"bench:{run}")
        PatientToken.objects.filter(account=account).delete()
        _token, key = PatientToken.issue(account)
        found.append(
            {
                "key": key,
                "account": account.pk,
                "patient": patient.medical_card_number,
                "his_patient_id": _his_patient_id(hospital, patient, base_url),
                "card": card.pk,
            }
        )
    rules = hospital.settings.outpatient
    return {
        "run": run,
        "password": password,
        "clients": found,
        "since": timezone.now().isoformat(),
        "merge": rules.merge.model_dump(mode="json"),
        "prescription_validity_hours": rules.prescription_validity.total_seconds() / 3600,
        "his": hospital.settings.integrations.his.model_dump(mode="json"),
    }


def verify_outpatient(since: str, account_ids: list[int]) -> dict:
    """The bench accounts' outpatient payments since `since`: states, their lines, the charges and cards."""
    from django.db.models import Count, Q
    from django.utils.dateparse import parse_datetime

    from hcm.outpatient.models import OutpatientPayment
    from hcm.payments.models import Method, Payment
    from hcm.wallet.models import BalanceAccount
    from hcm.wallet.selectors import ledger_mismatches

    payments = OutpatientPayment.objects.filter(account_id__in=account_ids, created_at__gte=parse_datetime(since))
    lines = payments.annotate(n=Count("lines"), settled=Count("lines", filter=Q(lines__state="settled")))
    charges = Payment.objects.filter(
        payable_type__app_label="outpatient",
        payable_type__model="outpatientpayment",
        payable_id__in=list(payments.values_list("pk", flat=True)),
    )
    cards = BalanceAccount.objects.filter(patient__bindings__account_id__in=account_ids).distinct()
    return {
        "payments": payments.count(),
        "states": dict(payments.values_list("state").annotate(n=Count("pk")).order_by()),
        "with_3_settled_lines": lines.filter(n=3, settled=3).count(),
        "balance_charges_paid": charges.filter(method=Method.BALANCE, state="paid").count(),
        "charges_other": charges.exclude(method=Method.BALANCE, state="paid").count(),
        "cards_not_adding_up": len(ledger_mismatches(cards)),
        "numbers": sorted(payments.values_list("number", flat=True)),
    }


# --- pay-later reminders over many bills ------------------------------------------------------


def _reminder_patients(hospital, count: int) -> list:
    """`count` bench patient records, each bound to its own WeChat account (kept between runs)."""
    from hcm.patients.identity import lookup_hash
    from hcm.patients.models import Binding, PatientRecord, WechatAccount

    cards = [f"{REMINDER_PREFIX}{index:04d}" for index in range(count)]
    records = []
    for index, card in enumerate(cards):
        number = _id_number(index)
        records.append(
            PatientRecord(
                hospital=hospital,
                medical_card_number=card,
                name=f"压测{index:04d}",
                id_number=number,
                id_number_hash=lookup_hash(number),  # save() derives it; bulk_create does not call save()
                phone=f"139{index:08d}",
            )
        )
    PatientRecord.objects.bulk_create(records, batch_size=500, ignore_conflicts=True)
    records = list(PatientRecord.objects.filter(hospital=hospital, medical_card_number__in=cards).order_by("pk"))
    openids = {record.pk: f"bench-pl-{record.medical_card_number}" for record in records}
    WechatAccount.objects.bulk_create(
        [WechatAccount(hospital=hospital, openid=openids[r.pk], current_patient=r) for r in records],
        batch_size=500,
        ignore_conflicts=True,
    )
    accounts = dict(
        WechatAccount.objects.filter(hospital=hospital, openid__in=openids.values()).values_list("openid", "pk")
    )
    Binding.objects.bulk_create(
        [Binding(hospital=hospital, account_id=accounts[openids[r.pk]], patient=r) for r in records],
        batch_size=500,
        ignore_conflicts=True,
    )
    return records


def _bill_items(index: int) -> tuple[list[dict], Decimal]:
    price = Decimal("20.00") + index % 50
    return [{"name": "清创缝合术（小）", "quantity": "1", "unit": "次", "unit_price": f"{price:.2f}"}], price


def _pay_later_bills(hospital, records: list, count: int, run: str) -> list:
    """`count` unpaid pay-later bills over `records`, issued 1 hour to 30 days before today."""
    from hcm.outpatient.models import Prescription
    from hcm.outpatient.tasks import start_of_today

    today = start_of_today()
    bills = []
    for index in range(count):
        record = records[index % len(records)]
        items, price = _bill_items(index)
        bills.append(
            Prescription(
                hospital=hospital,
                number=f"{REMINDER_BILL_PREFIX}{run}{index:06d}",
                his_patient_id=record.medical_card_number,
                medical_card_number=record.medical_card_number,
                kind="treatment",
                department="急诊科",
                doctor="压测",
                items=[{**items[0], "amount": items[0]["unit_price"]}],
                amount=price,
                issued_at=today - timedelta(hours=1 + index % 720),
                pay_later=True,
                mergeable=True,
            )
        )
    Prescription.objects.bulk_create(bills, batch_size=2000)
    return bills


def _load_into_fake(base_url: str, hospital_code: str, records: list, bills: list) -> None:
    """The same patients and bills in the fake HIS, 100 patients per control request."""
    by_card: dict[str, list] = {}
    for index, bill in enumerate(bills):
        by_card.setdefault(bill.medical_card_number, []).append(
            {
                "number": bill.number,
                "kind": bill.kind,
                "department": bill.department,
                "doctor": bill.doctor,
                "created_at": bill.issued_at.isoformat(),
                "pay_later": True,
                "mergeable": True,
                "items": _bill_items(index)[0],
            }
        )
    patients = [
        {
            "his_patient_id": record.medical_card_number,
            "name": record.name,
            "medical_card_number": record.medical_card_number,
            "phone": record.phone,
            "id_number": _id_number(index),
            "insured": False,
            "prescriptions": by_card.get(record.medical_card_number, []),
        }
        for index, record in enumerate(records)
    ]
    for start in range(0, len(patients), 100):
        his_control(
            base_url, "/_control/patients", {"hospital": hospital_code, "patients": patients[start : start + 100]}
        )


def _forget_reminder_bills(hospital) -> None:
    """This bench's pay-later bills and reminders (of this run, or left by an interrupted one)."""
    from hcm.notifications.models import Notification
    from hcm.outpatient.models import Prescription

    Notification.objects.filter(hospital=hospital, dedupe_key__startswith=f"pay_later:{REMINDER_BILL_PREFIX}").delete()
    Prescription.objects.filter(hospital=hospital, number__startswith=REMINDER_BILL_PREFIX).delete()


@contextmanager
def _captured_logs():
    """The platform's log records of the block from INFO up ("could not refresh pay-later bills
    from the HIS", the adapter's "unavailable, retrying"), kept out of the bench's output."""
    logger, records = logging.getLogger("hcm"), []
    handler = logging.Handler(logging.INFO)
    handler.emit = records.append
    propagate, level = logger.propagate, logger.level
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def _reminders_once(hospital, run: str) -> dict:
    """One timed send_pay_later_reminders: seconds, what it answered, the rows it wrote, its SQL queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from hcm.notifications.models import Notification
    from hcm.outpatient.tasks import send_pay_later_reminders

    mine = Notification.objects.filter(
        hospital=hospital, dedupe_key__startswith=f"pay_later:{REMINDER_BILL_PREFIX}{run}"
    )
    before = mine.count()
    with _captured_logs() as logs, CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        answered = send_pay_later_reminders(hospital.code)
        seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "answered": answered,
        "written": mine.count() - before,
        "queries": len(queries),
        "queries_capped": len(queries) >= connection.queries_limit,  # CaptureQueriesContext keeps 9,000 at most
        "his_refresh": "failed" if any("could not refresh" in r.getMessage() for r in logs) else "ok",
        "his_retries": sum("retrying" in r.getMessage() for r in logs),  # a read timed out or answered 5xx
    }


def reminders(bills: int, patients: int, base_url: str) -> dict:
    """Time the reminder task twice with the HIS answering (the fake listing all `bills`), then, the
    reminders removed, twice with it failing (500: the task reminds from our copy of the bills)."""
    from hcm.notifications.models import Notification

    hospital = _point_his(base_url)  # as `outpatient` left it; a no-op then
    _forget_reminder_bills(hospital)
    run = secrets.token_hex(3)
    started = time.perf_counter()
    records = _reminder_patients(hospital, patients)
    made = _pay_later_bills(hospital, records, bills, run)
    inserted = time.perf_counter() - started
    started = time.perf_counter()
    _load_into_fake(base_url, hospital.code, records, made)
    loaded = time.perf_counter() - started
    del made
    try:
        answering = [_reminders_once(hospital, run) for _ in range(2)]
        Notification.objects.filter(
            hospital=hospital, dedupe_key__startswith=f"pay_later:{REMINDER_BILL_PREFIX}{run}"
        ).delete()
        his_control(base_url, "/_control", {"error_rate": 1})
        failing = [_reminders_once(hospital, run) for _ in range(2)]
    finally:
        his_control(base_url, "/_control", {"error_rate": 0})
        _forget_reminder_bills(hospital)
    return {
        "bills": bills,
        "patients": len(records),
        "retries": hospital.settings.integrations.his.retries,
        "inserted_seconds": round(inserted, 1),
        "loaded_into_fake_seconds": round(loaded, 1),
        "his_answering": answering,
        "his_failing": failing,
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
    elif command == "outpatient":
        result = outpatient(int(args[0]), args[1], args[2])
    elif command == "verify-outpatient":
        result = verify_outpatient(args[0], [int(pk) for pk in args[1].split(",")])
    elif command == "reminders":
        result = reminders(int(args[0]), int(args[1]), args[2])
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Rows of any registered model for a given hospital, with related rows of the same hospital."""

import itertools
import uuid
from datetime import date, time, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from model_bakery import baker

from hcm.catalog.models import Category, Product
from hcm.hospitals.models import Membership
from hcm.hospitals.roles import Role
from hcm.lowcode.tenancy_checks import is_tenant_model
from hcm.patients.identity import id_number_check_digit
from hcm.patients.models import PatientRecord, WechatAccount


def id_number(birth: str = "19900101", serial: int | None = None) -> str:
    """A valid resident ID number (right check digit) born on `birth`."""
    serial = uuid.uuid4().int % 1000 if serial is None else serial
    first17 = f"350321{birth}{serial:03d}"
    return first17 + id_number_check_digit(first17)


_DAYS = itertools.count(1)


def make_row(model, hospital, **values):
    """One saved row of `model` at `hospital`; tenant foreign keys point at the same hospital."""
    if model is WechatAccount:
        values.setdefault("current_patient", None)  # optional: no record made behind the test's back
    if model is Product and "category" not in values:
        # A product is on sale only in a published category: a published product gets one.
        values["category"] = make_row(Category, hospital, state=values.get("state", "draft"))
    if model._meta.app_label == "distribution":
        # Optional links (inviter, source, order...) stay empty: an inviter's inviter's... never ends.
        for field in model._meta.fields:
            if field.null and (field.many_to_one or field.one_to_one):
                values.setdefault(field.name, None)
    if model._meta.label_lower == "distribution.withdrawal":  # net = amount - fee (a constraint)
        values.setdefault("amount", Decimal("100.00"))
        values.setdefault("fee", Decimal("1.00"))
        values.setdefault("net_amount", values["amount"] - values["fee"])
    for field in model._meta.fields:
        if field.name in values or field.name == "hospital" or not (field.many_to_one or field.one_to_one):
            continue
        if is_tenant_model(field.related_model):
            values[field.name] = make_row(field.related_model, hospital)
    if model is WechatAccount:
        values.setdefault("openid", uuid.uuid4().hex)
    if model._meta.label_lower in ("outpatient.outpatientpayment", "outpatient.outpatientpaymentline"):
        values.setdefault("insurance_amount", Decimal("7.00"))  # amount = insurance + self-pay (a constraint)
        values.setdefault("self_pay_amount", Decimal("3.00"))
        values.setdefault("amount", values["insurance_amount"] + values["self_pay_amount"])
    if model._meta.label_lower == "mall.orderitem":  # amount = unit price * quantity (a constraint)
        values.setdefault("unit_price", Decimal("10.00"))
        values.setdefault("quantity", 1)
        values.setdefault("amount", values["unit_price"] * values["quantity"])
    if model._meta.label_lower in ("appointments.scheduleslot", "appointments.checkupday"):
        values.setdefault("capacity", 10)  # booked <= capacity, ends after it starts (constraints)
        values.setdefault("booked", 0)
        values.setdefault("start_time", time(8, 0))
        values.setdefault("end_time", time(8, 30))
    if model._meta.label_lower in ("appointments.scheduleslot", "appointments.booking"):
        values.setdefault("fee", Decimal("20.00"))
    if model._meta.label_lower == "appointments.checkupday":  # one row per day and hospital
        values.setdefault("date", date.today() + timedelta(days=next(_DAYS)))
    if model is PatientRecord:
        values.setdefault("medical_card_number", uuid.uuid4().hex[:12])
        values.setdefault("name", "尤小明")
        values.setdefault("id_number", id_number())
        values.setdefault("phone", "13812345678")
    if model is Membership:
        values.setdefault("role", Role.CASHIER)
    return baker.make(model, hospital=hospital, **values)


def make_rows(model, hospital, count: int, **values) -> list:
    """Up to `count` rows; stops early when unique constraints allow no more (e.g. one page per kind)."""
    rows, failures = [], 0
    while len(rows) < count and failures < 10:
        try:
            with transaction.atomic():
                rows.append(make_row(model, hospital, **values))
        except IntegrityError:
            failures += 1
    return rows

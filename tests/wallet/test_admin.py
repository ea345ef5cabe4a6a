"""The cashier's admin: issuing cards, counter top-ups and password resets; ledgers export only."""

import io
from decimal import Decimal

import openpyxl
from django.contrib import admin
from django.contrib.auth.hashers import check_password
from django.test import Client, RequestFactory
from django.urls import reverse
from import_export.formats.base_formats import XLSX

from hcm.hospitals.roles import Role
from hcm.lowcode.models import AuditEntry
from hcm.wallet import services
from hcm.wallet.models import BalanceAccount, LedgerEntry
from tests.conftest import make_operator
from tests.wallet.conftest import make_patient

TOKEN = "4f1c1a64-0d6b-4b43-9f5e-2a4f7f0a1b2c"


def logged_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def url(name: str, *args) -> str:
    return reverse(f"admin:wallet_{name}", args=args)


def test_a_cashier_issues_a_card_from_the_add_form(hospital, patient, cashier):
    client = logged_in(cashier)
    assert client.get(url("balanceaccount_add")).status_code == 200

    response = client.post(
        url("balanceaccount_add"),
        {"patient": patient.pk, "payment_password": "135790", "confirm_password": "135790"},
    )

    account = BalanceAccount.objects.get()
    assert response.status_code == 302 and response["Location"] == url("balanceaccount_change", account.pk)
    assert (account.hospital, account.patient, account.issued_by, account.balance) == (
        hospital,
        patient,
        cashier,
        Decimal("0.00"),
    )
    assert check_password("135790", account.password)


def test_the_add_form_refuses_mismatched_or_bad_passwords_and_a_second_card(hospital, patient, account, cashier):
    other = make_patient(hospital, card="M0002", serial=222)
    client = logged_in(cashier)

    mismatch = client.post(
        url("balanceaccount_add"), {"patient": other.pk, "payment_password": "135790", "confirm_password": "135791"}
    )
    bad = client.post(
        url("balanceaccount_add"), {"patient": other.pk, "payment_password": "1357", "confirm_password": "1357"}
    )
    second = client.post(
        url("balanceaccount_add"), {"patient": patient.pk, "payment_password": "135790", "confirm_password": "135790"}
    )

    assert mismatch.status_code == bad.status_code == second.status_code == 200
    assert mismatch.context["adminform"].form.errors == {"confirm_password": ["The two passwords do not match."]}
    assert bad.context["adminform"].form.errors == {"payment_password": ["The payment password must be 6 digits."]}
    assert second.context["adminform"].form.errors == {"patient": ["This patient already has a balance card."]}
    assert list(BalanceAccount.objects.values_list("patient_id", flat=True)) == [patient.pk]


def test_the_change_page_is_read_only_and_never_shows_the_password(account, cashier):
    services.counter_topup(account=account, amount=Decimal("20.00"), operator=cashier)

    response = logged_in(cashier).get(url("balanceaccount_change", account.pk))

    page = response.content.decode()
    assert response.status_code == 200
    assert not response.context["adminform"].form.fields  # nothing is edited directly
    assert account.card_number in page and "20.00" in page
    assert account.password not in page
    assert url("balanceaccount_topup", account.pk) in page and url("balanceaccount_reset_password", account.pk) in page


def test_the_card_list_is_masked_and_searchable_by_card_number(account, cashier):
    client = logged_in(cashier)

    page = client.get(url("balanceaccount_changelist")).content.decode()
    found = client.get(url("balanceaccount_changelist"), {"q": account.card_number})
    missed = client.get(url("balanceaccount_changelist"), {"q": "C99999999999"})

    assert "****" + account.card_number[-4:] in page and "尤**" in page and "尤小明" not in page
    assert list(found.context["cl"].result_list) == [account]
    assert list(missed.context["cl"].result_list) == []


def test_a_cashier_tops_up_at_the_counter_once_per_form(account, cashier):
    client = logged_in(cashier)
    assert client.get(url("balanceaccount_topup", account.pk)).status_code == 200
    form = {"amount": "50.00", "note": "现金", "token": TOKEN}

    first = client.post(url("balanceaccount_topup", account.pk), form)
    again = client.post(url("balanceaccount_topup", account.pk), form)  # a double click

    assert first.status_code == again.status_code == 302
    assert first["Location"] == url("balanceaccount_change", account.pk)
    account.refresh_from_db()
    assert account.balance == Decimal("50.00")
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount, entry.balance_after, entry.operator, entry.note) == (
        LedgerEntry.Kind.COUNTER_TOPUP,
        Decimal("50.00"),
        Decimal("50.00"),
        cashier,
        "现金",
    )


def test_an_invalid_top_up_shows_the_form_again_and_books_nothing(account, cashier):
    response = logged_in(cashier).post(url("balanceaccount_topup", account.pk), {"amount": "0", "token": TOKEN})

    assert response.status_code == 200 and "amount" in response.context["form"].errors
    assert not LedgerEntry.objects.exists()


def test_operators_of_another_hospital_or_without_change_cannot_top_up(account, other_hospital, hospital):
    stranger = make_operator("cashier_b", hospital=other_hospital, role=Role.CASHIER)
    finance = make_operator("finance_a", hospital=hospital, role=Role.FINANCE)
    form = {"amount": "50.00", "token": TOKEN}

    assert logged_in(stranger).post(url("balanceaccount_topup", account.pk), form).status_code == 403
    assert logged_in(finance).post(url("balanceaccount_topup", account.pk), form).status_code == 403
    page = logged_in(finance).get(url("balanceaccount_change", account.pk)).content.decode()

    assert url("balanceaccount_topup", account.pk) not in page
    account.refresh_from_db()
    assert account.balance == Decimal("0.00") and not LedgerEntry.objects.exists()


def test_a_password_reset_in_the_admin_unlocks_and_is_audited(account, cashier):
    BalanceAccount.objects.filter(pk=account.pk).update(failed_attempts=3)
    client = logged_in(cashier)

    mismatch = client.post(
        url("balanceaccount_reset_password", account.pk), {"password": "777777", "confirm_password": "7"}
    )
    done = client.post(
        url("balanceaccount_reset_password", account.pk), {"password": "777777", "confirm_password": "777777"}
    )

    assert mismatch.status_code == 200 and "confirm_password" in mismatch.context["form"].errors
    assert done.status_code == 302 and done["Location"] == url("balanceaccount_change", account.pk)
    account.refresh_from_db()
    assert check_password("777777", account.password) and account.failed_attempts == 0
    audit = AuditEntry.objects.get()
    assert (audit.action, audit.actor, audit.object_id) == (AuditEntry.Action.RESET_PASSWORD, cashier, str(account.pk))
    assert audit.ip_address == "127.0.0.1"


def test_a_reset_to_a_password_outside_the_policy_shows_the_message(account, cashier):
    response = logged_in(cashier).post(
        url("balanceaccount_reset_password", account.pk), {"password": "12", "confirm_password": "12"}, follow=True
    )

    assert "The payment password must be 6 digits." in [str(m) for m in response.context["messages"]]
    account.refresh_from_db()
    assert check_password("123456", account.password) and not AuditEntry.objects.exists()


def test_the_ledger_exports_to_xlsx_and_is_never_imported(account, cashier, admin_a):
    services.counter_topup(account=account, amount=Decimal("50.00"), operator=cashier, note="=1+1")
    model_admin = admin.site._registry[LedgerEntry]
    request = RequestFactory().get("/admin/")
    request.user = admin_a
    client = logged_in(admin_a)

    dataset = model_admin.get_data_for_export(request, model_admin.get_export_queryset(request))
    sheet = openpyxl.load_workbook(io.BytesIO(XLSX().export_data(dataset))).active
    rows = list(sheet.iter_rows(values_only=True))

    assert rows[0][:4] == ("hospital", "id", "created_at", "account")
    assert rows[1][0] == "hospa" and rows[1][3] == account.card_number
    assert rows[1][4:] == ("Counter top-up", "50.00", "50.00", None, "1+1", "cashier_a")  # formulae escaped
    assert not model_admin.has_import_permission(request)
    assert client.get(reverse("admin:wallet_ledgerentry_import")).status_code == 403
    assert client.get(url("ledgerentry_changelist")).status_code == 200
    assert client.get(url("ledgerentry_changelist"), {"account__id__exact": account.pk}).status_code == 200


def test_the_patient_search_of_the_add_form_offers_only_the_cashiers_hospital(hospital, other_hospital, cashier):
    mine = make_patient(hospital, card="M0042")
    make_patient(other_hospital, card="M0043", serial=333)
    query = {"app_label": "wallet", "model_name": "balanceaccount", "field_name": "patient", "term": "M004"}

    response = logged_in(cashier).get(reverse("admin:autocomplete"), query)

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(mine.pk)]
    assert "尤小明" not in response.content.decode()

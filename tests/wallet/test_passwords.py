"""Payment passwords: checks, lockout after the configured failures, expiry, changes and resets."""

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import check_password
from django.utils import timezone

from hcm.lowcode.errors import DomainError
from hcm.lowcode.models import AuditEntry
from hcm.wallet import services
from hcm.wallet.models import BalanceAccount
from hcm.wallet.services import CardLocked, WrongPassword


def fresh(account) -> BalanceAccount:
    return BalanceAccount.objects.get(pk=account.pk)


def test_the_right_password_passes_and_clears_earlier_failures(account):
    with pytest.raises(WrongPassword):
        services.password_check(account=account, password="000000")
    assert fresh(account).failed_attempts == 1

    services.password_check(account=account, password="123456")

    assert fresh(account).failed_attempts == 0


def test_a_wrong_password_is_counted_and_reports_the_remaining_tries(account):
    with pytest.raises(WrongPassword) as first:
        services.password_check(account=account, password="000000")
    with pytest.raises(WrongPassword) as second:
        services.password_check(account=account, password="000000")

    assert (first.value.code, first.value.status) == ("wrong_password", 400)
    assert first.value.remaining_tries == 2 and second.value.remaining_tries == 1
    assert second.value.message == "Wrong payment password; 1 try left."
    assert first.value.message == "Wrong payment password; 2 tries left."
    assert second.value.fields == {"password": ["Wrong payment password; 1 try left."]}
    stored = fresh(account)
    assert stored.failed_attempts == 2 and stored.locked_until is None


def test_the_third_failure_locks_the_card_for_the_configured_time(account):
    for _ in range(2):
        with pytest.raises(WrongPassword):
            services.password_check(account=account, password="000000")
    before = timezone.now()

    with pytest.raises(WrongPassword) as third:
        services.password_check(account=account, password="000000")

    stored = fresh(account)
    assert third.value.remaining_tries == 0 and third.value.locked_until == stored.locked_until
    assert before + timedelta(minutes=30) <= stored.locked_until <= timezone.now() + timedelta(minutes=30)
    until = timezone.localtime(stored.locked_until).strftime("%Y-%m-%d %H:%M")
    assert third.value.message == f"Wrong payment password; the card is locked until {until}."

    # Locked: even the right password is refused, and nothing more is counted.
    with pytest.raises(CardLocked) as locked:
        services.password_check(account=account, password="123456")
    assert (locked.value.code, locked.value.status) == ("card_locked", 409)
    assert locked.value.locked_until == stored.locked_until
    assert locked.value.message == f"Too many wrong payment passwords; the card is locked until {until}."
    assert fresh(account).failed_attempts == 3 and fresh(account).locked_until == stored.locked_until


def test_an_expired_lock_counts_as_unlocked_with_failures_reset(account):
    BalanceAccount.objects.filter(pk=account.pk).update(
        failed_attempts=3, locked_until=timezone.now() - timedelta(seconds=1)
    )
    account = fresh(account)

    with pytest.raises(WrongPassword) as refused:
        services.password_check(account=account, password="000000")

    assert refused.value.remaining_tries == 2
    stored = fresh(account)
    assert stored.failed_attempts == 1 and stored.locked_until is None


def test_an_expired_lock_lets_the_right_password_through(account, monkeypatch):
    for _ in range(3):
        with pytest.raises(WrongPassword):
            services.password_check(account=account, password="000000")
    later = timezone.now() + timedelta(minutes=31)
    monkeypatch.setattr(timezone, "now", lambda: later)

    services.password_check(account=account, password="123456")

    stored = fresh(account)
    assert stored.failed_attempts == 0 and stored.locked_until is None


def test_the_patient_changes_the_password_with_the_old_one(account):
    services.password_change(account=account, old_password="123456", new_password="654321", confirm_password="654321")

    stored = fresh(account)
    assert check_password("654321", stored.password) and not check_password("123456", stored.password)
    assert stored.password_changed_at > account.created_at


@pytest.mark.parametrize(
    ("new", "confirm", "code", "fields"),
    [
        ("654321", "654320", "password_mismatch", {"confirm_password": ["The two new passwords do not match."]}),
        ("65432", "65432", "invalid_password", {"new_password": ["The payment password must be 6 digits."]}),
        ("abcdef", "abcdef", "invalid_password", {"new_password": ["The payment password must be 6 digits."]}),
        (
            "123456",
            "123456",
            "password_unchanged",
            {"new_password": ["The new password must differ from the old one."]},
        ),
    ],
)
def test_a_bad_new_password_is_refused_without_counting_a_failure(account, new, confirm, code, fields):
    before = fresh(account).password

    with pytest.raises(DomainError) as refused:
        services.password_change(account=account, old_password="123456", new_password=new, confirm_password=confirm)

    assert refused.value.code == code and refused.value.fields == fields
    stored = fresh(account)
    assert stored.password == before and stored.failed_attempts == 0


def test_a_wrong_old_password_counts_and_the_lock_applies_to_changes(account):
    for _ in range(2):
        with pytest.raises(WrongPassword) as refused:
            services.password_change(
                account=account, old_password="000000", new_password="654321", confirm_password="654321"
            )
    assert refused.value.fields == {"old_password": ["Wrong payment password; 1 try left."]}
    # Failures are shared with payments: the third, at checkout, locks the card.
    with pytest.raises(WrongPassword):
        services.password_check(account=account, password="000000")

    with pytest.raises(CardLocked):
        services.password_change(
            account=account, old_password="123456", new_password="654321", confirm_password="654321"
        )

    assert check_password("123456", fresh(account).password)


def test_a_reset_sets_the_password_unlocks_and_is_audited(account, cashier):
    for _ in range(3):
        with pytest.raises(WrongPassword):
            services.password_check(account=account, password="000000")

    services.password_reset(account=account, password="777777", operator=cashier)

    stored = fresh(account)
    assert check_password("777777", stored.password)
    assert stored.failed_attempts == 0 and stored.locked_until is None
    audit = AuditEntry.objects.get()
    assert (audit.action, audit.actor, audit.object_id, audit.hospital_id) == (
        AuditEntry.Action.RESET_PASSWORD,
        cashier,
        str(account.pk),
        account.hospital_id,
    )
    services.password_check(account=account, password="777777")


def test_a_reset_to_a_bad_password_changes_nothing(account, cashier):
    with pytest.raises(DomainError) as refused:
        services.password_reset(account=account, password="12", operator=cashier)

    assert refused.value.code == "invalid_password"
    assert check_password("123456", fresh(account).password)
    assert not AuditEntry.objects.exists()


def test_a_policy_of_letters_and_digits(db):
    from tests.conftest import make_hospital
    from tests.wallet.conftest import make_patient

    hospital = make_hospital(
        "alnum", extra="balance:\n  password: {length: 8, digits_only: false}\npayments:\n  methods: [balance]\n"
    )
    patient = make_patient(hospital, card="A1")

    with pytest.raises(DomainError) as refused:
        services.account_issue(patient=patient, password="abc 1234", operator=None)
    account = services.account_issue(patient=patient, password="abc12345", operator=None)

    assert refused.value.message == "The payment password must be 8 characters, without spaces."
    assert check_password("abc12345", account.password)

"""The demo data loads through the import path, publishes, and loads again without duplicating."""

import io

import pytest
from django.core.management import call_command

from hcm.content.models import Article, Banner, Doctor, Page, PublishState
from hcm.hospitals.models import Membership
from hcm.lowcode.models import TransitionLog
from hcm.patients.models import PatientRecord
from hcm.wallet.models import BalanceAccount, LedgerEntry


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_demo_setup_is_idempotent(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.DEBUG = True
    run("onboard", *[str(p) for p in sorted(settings.HCM_CONFIG_DIR.glob("*.yaml"))])
    first = run("load_fixtures")
    assert "ptdemo doctors.csv: 14 new" in first
    assert "ptdemo patients.csv: 12 new" in first and "ptdemo cards.csv: 3 cards issued" in first
    models = (Page, Doctor, Article, Banner, TransitionLog, PatientRecord, BalanceAccount, LedgerEntry)
    counts = {model: model.objects.count() for model in models}
    accounts = run("demo_accounts")
    assert "admin_ptdemo" in accounts and "医院管理员" in accounts and "cashier_xmchild" in accounts

    second = run("load_fixtures")
    assert "ptdemo doctors.csv: 0 new, 0 updated, 14 unchanged" in second
    run("demo_accounts")
    assert {model: model.objects.count() for model in counts} == counts
    assert Membership.objects.filter(user__username="admin_ptdemo").count() == 1
    assert not Doctor.objects.exclude(state=PublishState.PUBLISHED).exists()
    assert Banner.objects.filter(state=PublishState.PUBLISHED).count() == 6
    assert (tmp_path / "banners" / "ptdemo-1.png").exists()
    card = BalanceAccount.objects.get(patient__medical_card_number="P2024001")
    assert card.balance == 2000 and card.entries.get().balance_after == 2000
    assert "Demo patient of ptdemo" in accounts and '"name": "尤小明"' in accounts


@pytest.mark.django_db
def test_demo_accounts_are_refused_outside_debug(settings):
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError):
        run("demo_accounts")

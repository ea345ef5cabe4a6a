"""manage.py verify_ledgers [--hospital CODE]: every card's balance equals the sum of its ledger."""

from django.core.management.base import BaseCommand, CommandError

from hcm.hospitals.models import Hospital
from hcm.wallet.models import BalanceAccount
from hcm.wallet.selectors import ledger_mismatches


class Command(BaseCommand):
    help = "Check that each balance card's stored balance equals the sum of its ledger entries; exit 1 if not."

    def add_arguments(self, parser):
        parser.add_argument("--hospital", metavar="CODE", help="Only this hospital's cards.")

    def handle(self, *args, hospital: str | None = None, **options):
        accounts = BalanceAccount.objects.all()
        if hospital:
            if not Hospital.objects.filter(code=hospital).exists():
                raise CommandError(f"Unknown hospital code {hospital!r}.", returncode=2)
            accounts = accounts.filter(hospital__code=hospital)
        checked = accounts.count()
        mismatches = ledger_mismatches(accounts)
        for account, stored, total in mismatches:
            self.stderr.write(f"{account.hospital.code} {account.card_number}: stored {stored}, sum of entries {total}")
        if mismatches:
            raise CommandError(f"{len(mismatches)} of {checked} accounts do not balance.", returncode=1)
        self.stdout.write(f"{checked} accounts checked, all balanced")

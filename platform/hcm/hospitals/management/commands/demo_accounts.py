"""manage.py demo_accounts: one demo operator per role and hospital (development only)."""

import json

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from hcm.hospitals.models import Hospital, Membership
from hcm.hospitals.roles import Role

DEMO_PASSWORD = "demo-pass-2026"
ROLE_PREFIX = {
    Role.HOSPITAL_ADMIN: "admin",
    Role.CASHIER: "cashier",
    Role.FINANCE: "finance",
    Role.CONTENT_EDITOR: "editor",
    Role.CUSTOMER_SERVICE: "service",
}


def ensure_operator(*, username: str, password: str, hospital: Hospital | None, role: str):
    """Create the operator and membership if missing; existing ones are left as they are."""
    user, created = get_user_model().objects.get_or_create(username=username, defaults={"is_staff": True})
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    Membership.objects.get_or_create(user=user, hospital=hospital, role=role)
    return user


class Command(BaseCommand):
    help = "Create demo operator accounts for every hospital and print them (refused unless DEBUG is on)."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEMO_PASSWORD)

    def handle(self, *args, password: str, **options):
        if not settings.DEBUG:
            raise CommandError("demo accounts are for development only: set DEBUG=1", returncode=2)
        rows = []
        with transaction.atomic():
            ensure_operator(username="platform", password=password, hospital=None, role=Role.PLATFORM_ADMIN)
            rows.append(("platform", "*", Role.PLATFORM_ADMIN.label))
            for hospital in Hospital.objects.order_by("code"):
                for role, prefix in ROLE_PREFIX.items():
                    username = f"{prefix}_{hospital.code}"
                    ensure_operator(username=username, password=password, hospital=hospital, role=role)
                    rows.append((username, f"{hospital.code} {hospital.name}", role.label))
        self.stdout.write(f"Demo operators (password for all: {password}) — sign in at http://127.0.0.1:8000/admin/")
        width = max(len(r[0]) for r in rows)
        for username, where, role in rows:
            self.stdout.write(f"  {username.ljust(width)}  {where}  {role}")
        self._print_demo_patients()

    def _print_demo_patients(self) -> None:
        """How to act as a patient of each sandbox hospital from the API docs page."""
        from hcm.patients.models import PatientRecord

        for hospital in Hospital.objects.order_by("code"):
            config = hospital.settings
            patient = PatientRecord.objects.filter(hospital=hospital).order_by("medical_card_number").first()
            if not hospital.sandbox_enabled or patient is None:
                continue
            values = {field: getattr(patient, field) for field in config.binding.identify_by}
            self.stdout.write(
                f"Demo patient of {hospital.code}: POST /api/v1/{hospital.code}/patient/auth/sandbox/ "
                f'{{"openid": "demo-{hospital.code}"}}, then POST /api/v1/{hospital.code}/patient/bindings/ '
                + json.dumps(values, ensure_ascii=False)
            )

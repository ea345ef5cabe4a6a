"""manage.py sync_schedules [--hospital CODE]: pull doctors' schedules from each hospital's HIS now
(the `appointments.schedule_sync.<code>` schedules do it daily)."""

from django.core.management.base import BaseCommand, CommandError

from hcm.appointments.tasks import sync_schedules
from hcm.hospitals.models import Hospital


class Command(BaseCommand):
    help = "Synchronise doctors' schedules from the hospitals' HIS."

    def add_arguments(self, parser):
        parser.add_argument("--hospital", help="Only this hospital's code.")

    def handle(self, *args, hospital=None, **options):
        hospitals = Hospital.objects.filter(is_active=True).order_by("code")
        if hospital:
            hospitals = hospitals.filter(code=hospital)
            if not hospitals:
                raise CommandError(f"Unknown hospital {hospital!r}.")
        failed = False
        for found in hospitals:
            if not found.has_feature("appointments") or found.settings.integrations.his.adapter == "none":
                continue
            result = sync_schedules(found.code)
            failed = failed or "error" in result
            self.stdout.write(f"{found.code}: {result}")
        if failed:
            raise CommandError("Some hospitals' HIS could not be reached (see above).")

"""manage.py export_config CODE: the hospital's current configuration as YAML."""

from django.core.management.base import BaseCommand, CommandError

from hcm.hospitals.config import dump_config_yaml
from hcm.hospitals.models import Hospital


class Command(BaseCommand):
    help = "Print a hospital's configuration as YAML; onboarding the output yields the same configuration."

    def add_arguments(self, parser):
        parser.add_argument("code")

    def handle(self, *args, code: str, **options):
        hospital = Hospital.objects.filter(code=code).first()
        if hospital is None:
            raise CommandError(f"no hospital with code {code!r}", returncode=2)
        self.stdout.write(dump_config_yaml(hospital.settings), ending="")

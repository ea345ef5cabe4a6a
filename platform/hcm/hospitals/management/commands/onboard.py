"""manage.py onboard configs/x.yaml [more.yaml ...] [--dry-run]"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from hcm.hospitals.config import ConfigError, parse_config
from hcm.hospitals.services import deployment_refusals, hospital_onboard


class Command(BaseCommand):
    help = "Validate hospital YAML files and create or update each hospital atomically (all files or none)."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Validate and show the changes; write nothing.")

    def handle(self, *args, files: list[Path], dry_run: bool, **options):
        self.verbosity = options["verbosity"]
        configs = [self._load(path) for path in files]
        codes = [c.code for c in configs]
        duplicates = sorted({code for code in codes if codes.count(code) > 1})
        if duplicates:
            raise CommandError(
                f"the same hospital code appears in several files: {', '.join(duplicates)}", returncode=2
            )
        with transaction.atomic():
            for path, config in zip(files, configs, strict=True):
                self._report(path, hospital_onboard(config=config, dry_run=dry_run), dry_run)

    def _load(self, path: Path):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(f"{path}: cannot read the file ({error.strerror})", returncode=2) from None
        try:
            config = parse_config(text, filename=str(path))
            issues = deployment_refusals(config=config, filename=str(path))
            if issues:
                raise ConfigError(issues)
        except ConfigError as error:
            for issue in error.issues:
                self.stderr.write(str(issue))
            raise CommandError(f"{path}: {len(error.issues)} problem(s); nothing was written", returncode=2) from None
        return config

    def _report(self, path: Path, change, dry_run: bool) -> None:
        hospital = change.hospital
        prefix = "would be " if dry_run else ""
        if not change.changed:
            self.stdout.write(f"{hospital.code} ({hospital.name}): unchanged")
            return
        verb = "created" if change.created else "updated"
        version = f", version {change.version.number}" if change.version and not dry_run else ""
        self.stdout.write(self.style.SUCCESS(f"{hospital.code} ({hospital.name}): {prefix}{verb}{version}"))
        if change.created and self.verbosity < 2:
            self.stdout.write(f"  {len(change.changes)} settings (-v 2 lists them)")
            return
        for line in change.changes:
            self.stdout.write(f"  {line}")

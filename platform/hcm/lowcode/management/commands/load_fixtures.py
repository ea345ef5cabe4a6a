"""manage.py load_fixtures [DIR]: load demo data through the admin's import path.

Each hospital folder in fixtures/ has a manifest.yaml listing, in order, the files to import
and the resource (app_label.model) they belong to, plus an optional transition to run on the
imported rows (for example `publish`), or a `loader` (a dotted path) for rows that only a
service may write, such as balance cards; its media/ folder (images the rows name) is copied to
MEDIA_ROOT first. Loading twice updates rows instead of duplicating them.
"""

import csv
import shutil
from pathlib import Path

import tablib
import yaml
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.module_loading import import_string

from hcm.hospitals.models import Hospital
from hcm.lowcode.declarations import resource_for
from hcm.lowcode.importing import build_import_resource
from hcm.lowcode.transitions import model_transitions, refusal_reason, transition_apply


class Command(BaseCommand):
    help = "Import every hospital's demo data from fixtures/<code>/ (hospitals must be onboarded first)."

    def add_arguments(self, parser):
        parser.add_argument("directory", nargs="?", type=Path, default=settings.HCM_FIXTURES_DIR)

    def handle(self, *args, directory: Path, **options):
        for folder in sorted(p for p in directory.iterdir() if (p / "manifest.yaml").exists()):
            hospital = Hospital.objects.filter(code=folder.name).first()
            if hospital is None:
                self.stdout.write(f"{folder.name}: no such hospital onboarded; skipped")
                continue
            self._copy_media(folder / "media")
            with transaction.atomic():
                for entry in yaml.safe_load((folder / "manifest.yaml").read_text(encoding="utf-8")):
                    self._load(hospital, folder, entry)

    def _copy_media(self, source: Path) -> None:
        for path in source.rglob("*") if source.is_dir() else []:
            target = Path(settings.MEDIA_ROOT) / path.relative_to(source)
            if path.is_file() and (not target.exists() or target.read_bytes() != path.read_bytes()):
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)

    def _load(self, hospital: Hospital, folder: Path, entry: dict) -> None:
        if "loader" in entry:  # rows only a service may write (e.g. balance cards): fn(hospital, rows) -> str
            rows = list(csv.DictReader((folder / entry["file"]).read_text(encoding="utf-8").splitlines()))
            self.stdout.write(f"{hospital.code} {entry['file']}: " + import_string(entry["loader"])(hospital, rows))
            return
        model = apps.get_model(entry["resource"])
        declared = resource_for(model)
        if declared is None or declared.import_fields is None:
            raise CommandError(f"{entry['resource']} has no import declaration", returncode=2)
        path = folder / entry["file"]
        dataset = tablib.Dataset().load(path.read_text(encoding="utf-8"), format="csv")
        if "hospital" not in dataset.headers:
            dataset.append_col([hospital.code] * len(dataset), header="hospital")
        resource = build_import_resource(declared)(hospital_ids=[hospital.pk], default_hospital=hospital.code)
        result = resource.import_data(dataset, dry_run=False, raise_errors=False, use_transactions=True)
        if result.has_errors() or result.has_validation_errors():
            messages = [str(err.error) for row in result.row_errors() for err in row[1]]
            messages += [str(row.error) for row in result.invalid_rows]
            raise CommandError(f"{path}: {'; '.join(messages[:5])}", returncode=2)
        totals = result.totals
        self.stdout.write(
            f"{hospital.code} {path.name}: {totals['new']} new, {totals['update']} updated, {totals['skip']} unchanged"
        )
        then = entry.get("then")
        if then:
            self._run(model, hospital, then, [row.object_id for row in result.rows if row.object_id])

    def _run(self, model, hospital: Hospital, name: str, ids: list) -> None:
        info = model_transitions(model)[name]
        for obj in model.objects.filter(hospital=hospital, pk__in=ids):
            if refusal_reason(obj, info) is None:
                transition_apply(obj=obj, name=name, actor=None)

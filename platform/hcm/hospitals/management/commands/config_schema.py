"""manage.py config_schema: write configs/schema.json for editor completion."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from hcm.hospitals.config import config_json_schema


def schema_text() -> str:
    return json.dumps(config_json_schema(), ensure_ascii=False, indent=2) + "\n"


class Command(BaseCommand):
    help = "Write the JSON schema of hospital configuration files (configs/schema.json by default)."

    def add_arguments(self, parser):
        parser.add_argument("--output", type=Path, default=settings.HCM_CONFIG_DIR / "schema.json")

    def handle(self, *args, output: Path, **options):
        output.write_text(schema_text(), encoding="utf-8")
        self.stdout.write(f"wrote {output}")

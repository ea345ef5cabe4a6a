"""manage.py fake_his: run the fake HIS on loopback until interrupted (see hcm.his.fake).

Point a hospital's config at it with `integrations.his: {adapter: http, base_url:
"http://127.0.0.1:8765"}`. One server serves every hospital of its seed files (the request's
X-Hospital header picks one); run one per port the configs name.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hcm.his.fake import FakeHisServer, Switches, demo_seed_paths
from hcm.his.fake_store import load_seed


class Command(BaseCommand):
    help = "Run a fake hospital information system (HIS) on a loopback address, seeded from fixtures/*/his.json."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="A loopback address (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8765, help="0 picks a free port.")
        parser.add_argument("--seed", nargs="+", type=Path, help="Seed files (default: fixtures/*/his.json).")
        parser.add_argument("--latency-ms", type=int, default=0, help="Delay every answer.")
        parser.add_argument("--error-rate", type=float, default=0.0, help="Share of requests answering 500 (0..1).")
        parser.add_argument("--fail-settle", nargs="+", default=[], metavar="NUMBER", help="Settling these fails.")
        parser.add_argument("--timeout-after-settle", nargs="+", default=[], metavar="NUMBER")
        parser.add_argument("--timeout-before-settle", nargs="+", default=[], metavar="NUMBER")
        parser.add_argument("--slow-seconds", type=float, default=3.0, help="How long the timeout switches wait.")

    def handle(self, *args, **options) -> None:
        if not 0 <= options["error_rate"] <= 1:
            raise CommandError("--error-rate: expected a share between 0 and 1", returncode=2)
        seeds = options["seed"] or demo_seed_paths()
        switches = Switches(
            latency_ms=max(options["latency_ms"], 0),
            error_rate=options["error_rate"],
            fail_settle_numbers=list(options["fail_settle"]),
            timeout_after_settle=list(options["timeout_after_settle"]),
            timeout_before_settle=list(options["timeout_before_settle"]),
            slow_seconds=options["slow_seconds"],
        )
        try:
            documents = [load_seed(path) for path in seeds]
            server = FakeHisServer(seeds=documents, host=options["host"], port=options["port"], switches=switches)
        except (OSError, ValueError) as error:
            raise CommandError(str(error), returncode=2) from None
        hospitals = ", ".join(sorted({document["hospital"] for document in documents})) or "none"
        self.stdout.write(f"Fake HIS for {hospitals} listening on {server.base_url} (Ctrl+C to stop)")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Fake HIS stopped.")

"""Schedules and tasks of reports: each hospital's sync with its HIS, and fetching PDFs.

Every active hospital with the `reports` feature and a HIS gets its own named schedule
`reports.sync.<code>`, every SYNC_EVERY_MINUTES; `ensure_schedules` keeps them in step with
the configs (after migrate and after every configuration change).
"""

import logging

from hcm.hospitals.models import Hospital
from hcm.lowcode.errors import DomainError
from hcm.reports import services
from hcm.reports.models import CheckupReport

log = logging.getLogger(__name__)
SYNC_SCHEDULE_PREFIX = "reports.sync."
SYNC_EVERY_MINUTES = 15


def sync_reports(hospital_code: str) -> dict:
    """The schedule's task: store the hospital's new reports from its HIS and announce them."""
    hospital = Hospital.objects.filter(code=hospital_code, is_active=True).first()
    if hospital is None or not hospital.has_feature("reports"):
        return {}
    return services.reports_sync(hospital=hospital).as_dict()


def fetch_pdfs(report_ids: list[int]) -> int:
    """Store the PDFs of new checkup reports; one that fails is fetched again when first downloaded."""
    fetched = 0
    for report in CheckupReport.objects.filter(pk__in=report_ids, pdf="").select_related("hospital").order_by("pk"):
        try:
            services.report_pdf_fetch(report=report)
            fetched += 1
        except DomainError as error:  # HisError and refusals alike: the download will try again
            log.warning("%s: PDF of report %s not fetched: %s", report.hospital.code, report.number, error.code)
    return fetched


def ensure_schedules(**kwargs) -> None:
    """One sync schedule per hospital with reports on and a HIS; stale ones removed."""
    from django_q.models import Schedule

    wanted = {
        SYNC_SCHEDULE_PREFIX + hospital.code: hospital.code
        for hospital in Hospital.objects.filter(is_active=True)
        if hospital.has_feature("reports") and hospital.settings.integrations.his.adapter != "none"
    }
    for name, code in wanted.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": "hcm.reports.tasks.sync_reports",
                "args": repr((code,)),
                "schedule_type": Schedule.MINUTES,
                "minutes": SYNC_EVERY_MINUTES,
                "repeats": -1,
            },
        )
    Schedule.objects.filter(name__startswith=SYNC_SCHEDULE_PREFIX).exclude(name__in=wanted).delete()

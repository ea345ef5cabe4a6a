"""Where report PDFs are kept: a private directory with no URL.

Medical documents must never be reachable by address: the files live under
settings.HCM_PRIVATE_FILES_DIR (outside MEDIA_ROOT, which DEBUG serves publicly) and leave
only through the patient's authorised download (hcm.reports.api.CheckupReportPdfView).
"""

import os
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class PrivateReportStorage(FileSystemStorage):
    def __init__(self):
        super().__init__(file_permissions_mode=0o600, directory_permissions_mode=0o700)

    # Read on every use (not cached like MEDIA_ROOT's), so the setting can differ per test.
    @property
    def base_location(self) -> str:
        return str(Path(settings.HCM_PRIVATE_FILES_DIR) / "reports")

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    def url(self, name: str | None) -> str:
        raise ValueError("Report PDFs have no URL: serve them through the authorised download view.")


def report_pdf_path(report, filename: str) -> str:
    """<hospital id>/<random>.pdf: no patient detail or report number in a file name."""
    return f"{report.hospital_id}/{uuid.uuid4().hex}.pdf"

"""The JSON shapes of checkup reports and examination results, both ways (see hcm.his.wire).

Each report carries `updated_at`, when the HIS last changed it (a corrected report carries a
later one; a report never changed may leave it out): an older version of a report never
overwrites a newer one. A report's PDF travels base64-encoded inside JSON ({"report_number",
"content_type", "pdf_base64"}) so every answer of the protocol stays a JSON document.
"""

import base64
import binascii
from datetime import datetime
from typing import Any

from hcm.his.contract import (
    ABNORMAL_FLAGS,
    CheckupSection,
    ExamItem,
    HisCheckupReport,
    HisExamResult,
    HisNewReports,
)
from hcm.his.wire import WireError, _flag, _list, _object, _text, aware_datetime, decode_list, field
from hcm.his.wire_schedules import day

PDF_MAGIC = b"%PDF-"


def _texts(data: dict, key: str) -> tuple[str, ...]:
    values = _list(data.get(key), field=key)
    if not all(isinstance(value, str) for value in values):
        raise WireError(f"{key}: expected a list of strings")
    return tuple(values)


def _updated_at(data: dict) -> datetime | None:
    """When the HIS last changed the report: a correction carries a later one than the version it
    corrects. Optional; a report never changed may leave it out (then it is `reported_at`)."""
    value = data.get("updated_at")
    return None if value is None else aware_datetime(value, field="updated_at")


def checkup_report_to_wire(report: HisCheckupReport) -> dict:
    return {
        "report_number": report.report_number,
        "his_patient_id": report.his_patient_id,
        "medical_card_number": report.medical_card_number,
        "title": report.title,
        "checkup_date": report.checkup_date.isoformat(),
        "summary": report.summary,
        "sections": [{"name": s.name, "findings": s.findings} for s in report.sections],
        "conclusions": list(report.conclusions),
        "has_pdf": report.has_pdf,
        "reported_at": report.reported_at.isoformat(),
        "updated_at": report.updated_at.isoformat(),
    }


def _section_from_wire(data: Any) -> CheckupSection:
    data = _object(data, field="section")
    return CheckupSection(name=_text(data, "name"), findings=_text(data, "findings"))


def checkup_report_from_wire(data: Any) -> HisCheckupReport:
    data = _object(data, field="checkup_report")
    return HisCheckupReport(
        report_number=_text(data, "report_number"),
        his_patient_id=_text(data, "his_patient_id"),
        medical_card_number=_text(data, "medical_card_number"),
        title=_text(data, "title"),
        checkup_date=day(data.get("checkup_date"), field="checkup_date"),
        summary=_text(data, "summary"),
        sections=tuple(_section_from_wire(s) for s in _list(data.get("sections"), field="sections")),
        conclusions=_texts(data, "conclusions"),
        has_pdf=_flag(data, "has_pdf"),
        reported_at=aware_datetime(data.get("reported_at"), field="reported_at"),
        updated_at=_updated_at(data),
    )


def exam_item_to_wire(item: ExamItem) -> dict:
    return {
        "name": item.name,
        "value": item.value,
        "unit": item.unit,
        "reference_range": item.reference_range,
        "abnormal": item.abnormal,
    }


def exam_item_from_wire(data: Any) -> ExamItem:
    data = _object(data, field="item")
    abnormal = data.get("abnormal", "")
    if abnormal not in ABNORMAL_FLAGS:
        raise WireError(f'abnormal: expected "", "high" or "low", got {abnormal!r}')
    return ExamItem(
        name=_text(data, "name"),
        value=_text(data, "value"),
        unit=_text(data, "unit"),
        reference_range=_text(data, "reference_range"),
        abnormal=abnormal,
    )


def exam_result_to_wire(result: HisExamResult) -> dict:
    return {
        "result_number": result.result_number,
        "his_patient_id": result.his_patient_id,
        "medical_card_number": result.medical_card_number,
        "name": result.name,
        "department": result.department,
        "sampled_at": result.sampled_at.isoformat(),
        "reported_at": result.reported_at.isoformat(),
        "updated_at": result.updated_at.isoformat(),
        "items": [exam_item_to_wire(item) for item in result.items],
    }


def exam_result_from_wire(data: Any) -> HisExamResult:
    data = _object(data, field="exam_result")
    return HisExamResult(
        result_number=_text(data, "result_number"),
        his_patient_id=_text(data, "his_patient_id"),
        medical_card_number=_text(data, "medical_card_number"),
        name=_text(data, "name"),
        department=_text(data, "department"),
        sampled_at=aware_datetime(data.get("sampled_at"), field="sampled_at"),
        reported_at=aware_datetime(data.get("reported_at"), field="reported_at"),
        items=tuple(exam_item_from_wire(item) for item in _list(data.get("items"), field="items")),
        updated_at=_updated_at(data),
    )


def new_reports_to_wire(reports: HisNewReports) -> dict:
    return {
        "checkup_reports": [checkup_report_to_wire(r) for r in reports.checkup_reports],
        "exam_results": [exam_result_to_wire(r) for r in reports.exam_results],
    }


def new_reports_from_wire(body: Any) -> HisNewReports:
    """{"checkup_reports": [...], "exam_results": [...]}: the answer of GET /reports, and the HIS's push."""
    return HisNewReports(
        checkup_reports=tuple(decode_list(body, "checkup_reports", checkup_report_from_wire)),
        exam_results=tuple(decode_list(body, "exam_results", exam_result_from_wire)),
    )


def pdf_to_wire(report_number: str, pdf: bytes) -> dict:
    return {
        "report_number": report_number,
        "content_type": "application/pdf",
        "pdf_base64": base64.b64encode(pdf).decode("ascii"),
    }


def pdf_from_wire(body: Any) -> bytes:
    encoded = field(body, "pdf_base64")
    if not isinstance(encoded, str):
        raise WireError(f"pdf_base64: expected a base64 string, got {type(encoded).__name__}")
    try:
        pdf = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise WireError("pdf_base64: not valid base64") from None
    if not pdf.startswith(PDF_MAGIC):
        raise WireError("pdf_base64: the document is not a PDF")
    return pdf

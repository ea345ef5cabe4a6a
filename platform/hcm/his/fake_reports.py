"""The fake HIS's reports: checkup reports (with a PDF it draws itself) and examination results.

A seed patient may hold, beside its prescriptions:

    "checkup_reports": [{"report_number", "title", "checkup_date": "2026-02-20" | "checkup_ago": "12d",
                         "reported_at": ISO | "reported_ago": "3d" (default now), "summary",
                         "sections": [{"name", "findings"}], "conclusions": [str],
                         "has_pdf" (default true),
                         "updated_at": ISO | "updated_ago" (default: when it was reported)}],
    "exam_results": [{"result_number", "name", "department",
                      "sampled_at" | "sampled_ago", "reported_at" | "reported_ago",
                      "updated_at" | "updated_ago",
                      "items": [{"name", "value", "unit", "reference_range",
                                 "abnormal": "" | "high" | "low" (default "")}]}]

`POST /_control/reports` adds more at run time (a report becoming ready); with `"revise": true`
its entries replace reports of the same numbers, changed now unless they say when (a corrected
report: the next version, with a later `updated_at`).
"""

from datetime import datetime

from hcm.his.contract import HisCheckupReport, HisExamResult, HisNewReports, HisPatient
from hcm.his.fake_common import FakeRefusal, ago, when
from hcm.his.fake_pdf import draw_pdf
from hcm.his.wire_reports import checkup_report_from_wire, exam_result_from_wire

ABNORMAL_MARKS = {"high": "↑", "low": "↓", "": ""}


def _updated(entry: dict, reported_at: str, *, now: datetime, revised: bool) -> str:
    """A new report was last changed when it was reported; a revision, now (unless it says)."""
    if entry.get("updated_ago") is None and entry.get("updated_at") is None:
        return now.isoformat() if revised else reported_at
    return when(entry, "updated", now=now)


def seed_checkup_report(entry: dict, *, patient: HisPatient, now: datetime, revised: bool = False) -> HisCheckupReport:
    checkup_date = entry.get("checkup_date")
    if checkup_date is None:
        checkup_date = (now - ago(entry.get("checkup_ago", "0d"), field="checkup_ago")).date().isoformat()
    reported_at = when(entry, "reported", now=now)
    return checkup_report_from_wire(
        {
            "has_pdf": True,
            "sections": [],
            "conclusions": [],
            **entry,
            "checkup_date": checkup_date,
            "reported_at": reported_at,
            "updated_at": _updated(entry, reported_at, now=now, revised=revised),
            "his_patient_id": patient.his_patient_id,
            "medical_card_number": patient.medical_card_number,
        }
    )


def seed_exam_result(entry: dict, *, patient: HisPatient, now: datetime, revised: bool = False) -> HisExamResult:
    reported_at = when(entry, "reported", now=now)
    return exam_result_from_wire(
        {
            **entry,
            "sampled_at": when(entry, "sampled", now=now) if "sampled_ago" in entry else entry.get("sampled_at"),
            "reported_at": reported_at,
            "updated_at": _updated(entry, reported_at, now=now, revised=revised),
            "his_patient_id": patient.his_patient_id,
            "medical_card_number": patient.medical_card_number,
        }
    )


def report_pdf(report: HisCheckupReport, patient: HisPatient) -> bytes:
    """The printed report: who, when, the summary, each section's findings and the conclusions."""
    lines = [
        f"报告编号：{report.report_number}",
        f"姓名：{patient.name}    就诊卡号：{patient.medical_card_number}",
        f"体检日期：{report.checkup_date.isoformat()}",
        "",
        "【综述】",
        report.summary,
        "",
    ]
    for section in report.sections:
        lines += [f"【{section.name}】", section.findings]
    if report.conclusions:
        lines += ["", "【结论与建议】", *(f"{n}. {c}" for n, c in enumerate(report.conclusions, start=1))]
    return draw_pdf(report.title, lines)


def _as_revision(entry: dict, existing: dict, number_key: str, patient: HisPatient) -> dict:
    report = existing.get(entry.get(number_key))
    if report is None or report.his_patient_id != patient.his_patient_id:
        raise ValueError(f"only this patient's existing reports can be revised: {entry.get(number_key)!r}")
    return {**entry, "reported_at": report.reported_at.isoformat(), "reported_ago": None}


class ReportShelf:
    """The report part of FakeHisStore, which holds the lock, the clock and each hospital's data
    (`patients`, `checkup_reports`, `exam_results`) and provides `_known` and `_patient_data`."""

    def add_reports(
        self, hospital: str, his_patient_id: str, *, checkup_reports: list, exam_results: list, revise: bool = False
    ) -> list[str]:
        """Reports that became ready (at `reported_at`, by default now), or with `revise` new
        versions of existing ones (changed at `updated_at`, by default now): their numbers."""
        with self._lock:
            data = self._patient_data(hospital, his_patient_id)
            entry = {"checkup_reports": checkup_reports, "exam_results": exam_results}
            return self._add_reports(data, data.patients[his_patient_id], entry, revise=revise)

    def checkup_reports(self, hospital: str, his_patient_id: str) -> list[HisCheckupReport]:
        with self._lock:
            data = self._patient_data(hospital, his_patient_id)
            mine = [r for r in data.checkup_reports.values() if r.his_patient_id == his_patient_id]
        return sorted(mine, key=lambda r: (r.reported_at, r.report_number), reverse=True)

    def exam_results(self, hospital: str, his_patient_id: str) -> list[HisExamResult]:
        with self._lock:
            data = self._patient_data(hospital, his_patient_id)
            mine = [r for r in data.exam_results.values() if r.his_patient_id == his_patient_id]
        return sorted(mine, key=lambda r: (r.reported_at, r.result_number), reverse=True)

    def reports_since(self, hospital: str, since: datetime) -> HisNewReports:
        with self._lock:
            data = self._known(hospital)
            checkups = [r for r in data.checkup_reports.values() if r.updated_at >= since]
            exams = [r for r in data.exam_results.values() if r.updated_at >= since]
        return HisNewReports(
            checkup_reports=tuple(sorted(checkups, key=lambda r: (r.updated_at, r.report_number))),
            exam_results=tuple(sorted(exams, key=lambda r: (r.updated_at, r.result_number))),
        )

    def report_pdf(self, hospital: str, report_number: str) -> bytes:
        with self._lock:
            data = self._known(hospital)
            report = data.checkup_reports.get(report_number)
            if report is None or not report.has_pdf:
                raise FakeRefusal(404, "report_not_found", "报告不存在或没有 PDF")
            patient = data.patients[report.his_patient_id]
        return report_pdf(report, patient)

    def _add_reports(self, data, patient: HisPatient, entry: dict, *, revise: bool = False) -> list[str]:
        now = self.clock()
        checkup_entries, exam_entries = entry.get("checkup_reports") or [], entry.get("exam_results") or []
        if revise:  # a correction keeps the time the report was first ready
            checkup_entries = [_as_revision(e, data.checkup_reports, "report_number", patient) for e in checkup_entries]
            exam_entries = [_as_revision(e, data.exam_results, "result_number", patient) for e in exam_entries]
        checkups = [seed_checkup_report(e, patient=patient, now=now, revised=revise) for e in checkup_entries]
        exams = [seed_exam_result(e, patient=patient, now=now, revised=revise) for e in exam_entries]
        numbers = [r.report_number for r in checkups] + [r.result_number for r in exams]
        taken = [n for n in numbers if n in data.checkup_reports or n in data.exam_results]
        if (taken and not revise) or len(set(numbers)) != len(numbers):
            raise ValueError(f"report numbers must be new and unique: {', '.join(taken) or numbers}")
        data.checkup_reports.update({r.report_number: r for r in checkups})
        data.exam_results.update({r.result_number: r for r in exams})
        return numbers

"""Reports from the HIS over HTTP: a person's fetch, the per-hospital sync in one call, "report
ready" sent once per report and bound account, the PDF stored privately, the named schedules."""

from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from hcm.his.contract import HisNewReports, HisUnavailable, adapter_for
from hcm.notifications.models import Notification
from hcm.reports import services, tasks
from hcm.reports.models import CheckupReport, ExamResult, ReportSyncCursor
from tests.conftest import make_hospital
from tests.reports.conftest import CODE, checkup, config, exam

pytestmark = pytest.mark.django_db(transaction=True)


def ready_messages():
    return sorted(
        Notification.objects.filter(event="report_ready").values_list("account__openid", "data__number", "state")
    )


def test_fetch_brings_one_persons_reports_from_the_his_over_http(hospital, patient, account, fake_his):
    outcome = services.reports_fetch(hospital=hospital, patient=patient)

    assert outcome == services.StoreOutcome(stored=4, new=4, skipped=0)
    assert fake_his.requests[:3] == [
        "POST /patients/search",
        "GET /patients/H0001/checkup-reports",
        "GET /patients/H0001/exam-results",
    ]
    report = CheckupReport.objects.get(number="TJ1")
    assert (report.hospital, report.patient, report.his_patient_id, report.medical_card_number) == (
        hospital,
        patient,
        "H0001",
        "M1",
    )
    assert (report.title, report.checkup_date, report.has_pdf) == (
        "年度健康体检报告",
        timezone.localdate() - timedelta(days=9),
        True,
    )
    assert report.sections == [
        {"name": "一般检查", "findings": "血压 138/88 mmHg。"},
        {"name": "腹部彩超", "findings": "肝脏回声增强，符合轻度脂肪肝。"},
    ]
    assert report.conclusions == ["轻度脂肪肝", "血脂异常"]
    result = ExamResult.objects.get(number="JY1")
    assert (result.name, result.department, result.abnormal_count) == ("血常规", "检验科", 2)
    assert result.items[0] == {
        "name": "白细胞计数",
        "value": "11.2",
        "unit": "10^9/L",
        "reference_range": "3.5-9.5",
        "abnormal": "high",
    }
    assert ExamResult.objects.filter(number="JY21").exists() is False  # another person's: not fetched


def test_each_new_report_is_announced_once_to_every_bound_account(
    hospital, patient, account, fake_his, notification_outbox
):
    services.reports_fetch(hospital=hospital, patient=patient)
    again = services.reports_fetch(hospital=hospital, patient=patient)

    assert again == services.StoreOutcome(stored=4, new=0, skipped=0)
    assert ready_messages() == [
        ("oPatient001", "JY1", "sent"),
        ("oPatient001", "JY2", "sent"),
        ("oPatient001", "TJ0", "sent"),
        ("oPatient001", "TJ1", "sent"),
    ]
    assert sorted(n.data["number"] for n in notification_outbox) == ["JY1", "JY2", "TJ0", "TJ1"]
    message = Notification.objects.get(data__number="TJ1")
    assert (message.template_id, message.dedupe_key) == ("TPL-REPORT", f"report_ready:checkup:TJ1:{account.pk}")
    assert (message.data["patient"], message.data["report"]) == ("尤**", "年度健康体检报告")
    assert CheckupReport.objects.filter(notified_at=None).count() == 0


def test_sync_stores_every_persons_new_reports_in_one_his_call(hospital, account, neighbour, fake_his):
    outcome = services.reports_sync(hospital=hospital)

    # the sync reads three days back the first time: TJ0 (400 days old) is not among them
    assert outcome == services.StoreOutcome(stored=5, new=5, skipped=1)  # JY31's person is not on the platform
    assert fake_his.requests == ["GET /reports", "GET /checkup-reports/TJ1/pdf", "GET /checkup-reports/TJ21/pdf"]
    assert sorted(CheckupReport.objects.values_list("number", "patient__medical_card_number")) == [
        ("TJ1", "M1"),
        ("TJ21", "M2"),
    ]
    assert sorted(ExamResult.objects.values_list("number", flat=True)) == ["JY1", "JY2", "JY21"]
    assert ready_messages() == [
        ("oNeighbour1", "JY21", "sent"),
        ("oNeighbour1", "TJ21", "sent"),
        ("oPatient001", "JY1", "sent"),
        ("oPatient001", "JY2", "sent"),
        ("oPatient001", "JY21", "sent"),  # the account is bound to both people
        ("oPatient001", "TJ1", "sent"),
        ("oPatient001", "TJ21", "sent"),
    ]


def test_syncing_twice_announces_each_report_once_and_reads_on_from_the_last_sync(
    hospital, account, fake_his, notification_outbox
):
    services.reports_sync(hospital=hospital)
    first_cursor = ReportSyncCursor.objects.get(hospital=hospital).synced_until
    fake_his.add_reports(hospital=CODE, his_patient_id="H0001", exam_results=[exam("JY3", ago="0m", name="肝功能")])

    again = services.reports_sync(hospital=hospital)

    assert again == services.StoreOutcome(stored=1, new=1, skipped=0)
    assert ReportSyncCursor.objects.get(hospital=hospital).synced_until > first_cursor
    assert [number for _openid, number, _state in ready_messages()].count("JY1") == 1
    assert [n.data["number"] for n in notification_outbox].count("JY3") == 1
    assert len(notification_outbox) == Notification.objects.filter(event="report_ready").count() == 6


def test_a_report_corrected_in_the_his_is_updated_without_a_second_message(hospital, patient, account, fake_his):
    services.reports_fetch(hospital=hospital, patient=patient)
    report = next(r for r in adapter_for(hospital).checkup_reports(his_patient_id="H0001") if r.report_number == "TJ1")
    corrected = replace(report, summary="复核：轻度脂肪肝。", conclusions=("轻度脂肪肝",))

    outcome = services.reports_store(hospital=hospital, reports=HisNewReports((corrected,), ()))

    assert outcome == services.StoreOutcome(stored=1, new=0, skipped=0)
    stored = CheckupReport.objects.get(number="TJ1")
    assert (stored.summary, stored.conclusions) == ("复核：轻度脂肪肝。", ["轻度脂肪肝"])
    assert stored.pdf.name != ""  # kept
    assert Notification.objects.filter(data__number="TJ1").count() == 1


def test_reports_of_people_not_on_the_platform_are_skipped(hospital, fake_his):
    outcome = services.reports_sync(hospital=hospital)

    assert outcome == services.StoreOutcome(stored=0, new=0, skipped=6)
    assert CheckupReport.objects.count() == ExamResult.objects.count() == Notification.objects.count() == 0
    assert ReportSyncCursor.objects.filter(hospital=hospital).exists()


def test_a_his_that_is_down_stores_nothing_and_keeps_the_cursor(hospital, account, fake_his):
    fake_his.control(error_rate=1.0)

    with pytest.raises(HisUnavailable):
        services.reports_sync(hospital=hospital)

    assert CheckupReport.objects.count() == ExamResult.objects.count() == 0
    assert not ReportSyncCursor.objects.filter(hospital=hospital).exists()


def test_a_new_checkup_reports_pdf_is_fetched_after_commit_and_kept_privately(
    hospital, patient, account, fake_his, private_files, settings
):
    services.reports_fetch(hospital=hospital, patient=patient)

    report = CheckupReport.objects.get(number="TJ1")
    assert report.pdf.name.startswith(f"{hospital.pk}/") and report.pdf.name.endswith(".pdf")
    assert "TJ1" not in report.pdf.name
    path = report.pdf.path
    assert path.startswith(str(private_files)) and not path.startswith(str(settings.MEDIA_ROOT))
    with report.pdf.open("rb") as stored:
        assert stored.read(5) == b"%PDF-"
    with pytest.raises(ValueError):
        report.pdf.url  # noqa: B018  (no address exists for a report's PDF)
    assert "GET /checkup-reports/TJ1/pdf" in fake_his.requests
    assert "GET /checkup-reports/TJ0/pdf" not in fake_his.requests  # it has none
    assert CheckupReport.objects.get(number="TJ0").pdf.name == ""


def test_each_hospital_with_reports_and_a_his_has_its_own_sync_schedule(hospital, fake_his):
    schedule = Schedule.objects.get(name=f"{tasks.SYNC_SCHEDULE_PREFIX}{CODE}")
    assert (schedule.func, schedule.args, schedule.schedule_type, schedule.minutes) == (
        "hcm.reports.tasks.sync_reports",
        "('rpt',)",
        Schedule.MINUTES,
        15,
    )
    make_hospital("nohis", extra="")
    assert not Schedule.objects.filter(name=f"{tasks.SYNC_SCHEDULE_PREFIX}nohis").exists()

    make_hospital(CODE, features="[site, mall]", extra=config(fake_his.base_url))  # reports switched off

    assert not Schedule.objects.filter(name__startswith=tasks.SYNC_SCHEDULE_PREFIX).exists()


def test_the_scheduled_task_syncs_the_hospital(hospital, account, fake_his):
    assert tasks.sync_reports(CODE) == {"stored": 5, "new": 5, "skipped": 1, "outdated": 0}
    assert tasks.sync_reports("unknown") == {}


def test_a_correction_in_the_his_reaches_our_copy_at_the_next_sync_and_an_older_copy_never_undoes_it(
    hospital, patient, account, fake_his
):
    services.reports_sync(hospital=hospital)
    first = adapter_for(hospital).checkup_reports(his_patient_id="H0001")
    v1 = next(r for r in first if r.report_number == "TJ1")
    fake_his.revise_reports(
        hospital=CODE, his_patient_id="H0001", checkup_reports=[{**checkup("TJ1"), "summary": "复核：轻度脂肪肝。"}]
    )

    again = services.reports_sync(hospital=hospital)  # TJ1 became ready 2 days ago, but changed now
    late = services.reports_store(hospital=hospital, reports=HisNewReports((v1,), ()))  # e.g. a slow fetch

    assert again == services.StoreOutcome(stored=1, new=0, skipped=0)
    assert late == services.StoreOutcome(stored=0, new=0, skipped=0, outdated=1)
    report = CheckupReport.objects.get(number="TJ1")
    assert report.summary == "复核：轻度脂肪肝。" and report.his_updated_at > v1.updated_at
    assert report.reported_at == v1.reported_at
    assert Notification.objects.filter(data__number="TJ1").count() == 1


def test_storing_the_same_versions_again_writes_nothing(hospital, patient, account, fake_his):
    services.reports_fetch(hospital=hospital, patient=patient)
    before = dict(CheckupReport.objects.values_list("number", "updated_at"))

    again = services.reports_fetch(hospital=hospital, patient=patient)

    assert again == services.StoreOutcome(stored=4, new=0, skipped=0)
    assert dict(CheckupReport.objects.values_list("number", "updated_at")) == before

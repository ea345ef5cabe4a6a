"""The patient's reports: the current person's lists newest first in constant queries, details
and the PDF only for people bound to the account (404 for anyone else), "new reports" on the
my page, and what a failing HIS changes (nothing the patient can see)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hcm.reports import services
from hcm.reports.models import CheckupReport, ExamResult
from tests.reports.conftest import API, CODE, client_for

pytestmark = pytest.mark.django_db(transaction=True)
ME = f"/api/v1/{CODE}/patient/me/"


@pytest.fixture
def stored(hospital, patient, relative, account):
    """Every report of both people, as the schedule would have stored them."""
    services.reports_fetch(hospital=hospital, patient=patient)
    services.reports_fetch(hospital=hospital, patient=relative)


def test_the_lists_fetch_the_current_persons_reports_and_show_them_newest_first(patient_client, fake_his):
    checkups = patient_client.get(API + "checkups/")
    exams = patient_client.get(API + "exams/")

    assert checkups.status_code == 200, checkups.json()
    assert [r["number"] for r in checkups.json()["results"]] == ["TJ1", "TJ0"]
    assert checkups.json()["results"][0] == {
        "id": CheckupReport.objects.get(number="TJ1").pk,
        "number": "TJ1",
        "title": "年度健康体检报告",
        "checkup_date": (timezone.localdate() - timedelta(days=9)).isoformat(),
        "reported_at": checkups.json()["results"][0]["reported_at"],
        "has_pdf": True,
        "new": True,
        "patient_name": "尤**",
    }
    assert [(r["number"], r["name"], r["abnormal_count"]) for r in exams.json()["results"]] == [
        ("JY2", "C反应蛋白测定", 2),
        ("JY1", "血常规", 2),
    ]
    assert fake_his.requests.count("GET /patients/H0001/checkup-reports") == 1  # once in REFRESH_EVERY


def test_the_lists_show_only_the_current_person(patient_client, stored):
    numbers = [r["number"] for r in patient_client.get(API + "exams/").json()["results"]]

    assert numbers == ["JY2", "JY1"]  # not JY21, of the other person bound to the account


def test_a_report_of_another_bound_person_opens_and_is_marked_read(patient_client, stored):
    report = CheckupReport.objects.get(number="TJ21")

    detail = patient_client.get(API + f"checkups/{report.pk}/")

    assert detail.status_code == 200
    assert detail.json()["summary"] == "轻度脂肪肝，血脂偏高。"
    assert detail.json()["sections"][1] == {"name": "腹部彩超", "findings": "肝脏回声增强，符合轻度脂肪肝。"}
    assert detail.json()["conclusions"] == ["轻度脂肪肝", "血脂异常"]
    assert (detail.json()["new"], detail.json()["patient_name"]) == (True, "林**")  # as it was when opened
    report.refresh_from_db()
    assert report.viewed_at is not None
    assert patient_client.get(API + f"checkups/{report.pk}/").json()["new"] is False


def test_an_exam_result_shows_its_items_with_reference_ranges_and_flags(patient_client, stored):
    result = ExamResult.objects.get(number="JY1")

    items = patient_client.get(API + f"exams/{result.pk}/").json()["items"]

    assert items == [
        {"name": "白细胞计数", "value": "11.2", "unit": "10^9/L", "reference_range": "3.5-9.5", "abnormal": "high"},
        {"name": "淋巴细胞百分比", "value": "15.2", "unit": "%", "reference_range": "20-50", "abnormal": "low"},
        {"name": "血红蛋白", "value": "148", "unit": "g/L", "reference_range": "130-175", "abnormal": ""},
    ]


def test_another_patients_report_and_pdf_answer_404(neighbour, stored):
    client = client_for(neighbour)  # bound to the second person only
    checkup = CheckupReport.objects.get(number="TJ1")
    result = ExamResult.objects.get(number="JY1")

    answers = [
        client.get(API + f"checkups/{checkup.pk}/"),
        client.get(API + f"checkups/{checkup.pk}/pdf/"),
        client.get(API + f"exams/{result.pk}/"),
        client.get(API + "checkups/999999/pdf/"),  # a report that does not exist: the same answer
    ]

    assert {(a.status_code, a.json()["code"]) for a in answers} == {(404, "not_found")}
    checkup.refresh_from_db()
    assert checkup.viewed_at is None  # nothing changed
    assert client.get(API + f"checkups/{CheckupReport.objects.get(number='TJ21').pk}/").status_code == 200


def test_the_pdf_is_served_as_a_pdf_to_the_bound_account_only(patient_client, stranger, stored, api):
    report = CheckupReport.objects.get(number="TJ1")

    pdf = patient_client.get(API + f"checkups/{report.pk}/pdf/", HTTP_ACCEPT="application/pdf")

    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == 'inline; filename="TJ1.pdf"'
    assert pdf["Cache-Control"] == "private, no-store"
    content = b"".join(pdf.streaming_content)
    assert content.startswith(b"%PDF-") and content.endswith(b"%%EOF\n")
    refused = client_for(stranger).get(API + f"checkups/{report.pk}/pdf/", HTTP_ACCEPT="application/pdf")
    assert (refused.status_code, refused["Content-Type"]) == (404, "application/json")
    assert api.get(API + f"checkups/{report.pk}/pdf/").status_code == 401


def test_a_pdf_not_stored_yet_is_fetched_from_the_his_on_download(patient_client, stored, fake_his):
    report = CheckupReport.objects.get(number="TJ1")
    report.pdf.delete(save=True)

    pdf = patient_client.get(API + f"checkups/{report.pk}/pdf/")

    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF-")
    assert fake_his.requests.count("GET /checkup-reports/TJ1/pdf") == 2  # after storing, and now
    report.refresh_from_db()
    assert report.pdf.name


def test_a_pdf_whose_file_went_missing_is_fetched_again(patient_client, stored, fake_his):
    report = CheckupReport.objects.get(number="TJ1")
    report.pdf.storage.delete(report.pdf.name)  # e.g. a volume restored without its files

    pdf = patient_client.get(API + f"checkups/{report.pk}/pdf/")

    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF-")
    report.refresh_from_db()
    assert report.pdf.storage.exists(report.pdf.name)


def test_a_report_without_a_pdf_answers_404_with_its_code(patient_client, stored):
    report = CheckupReport.objects.get(number="TJ0")

    answer = patient_client.get(API + f"checkups/{report.pk}/pdf/")

    assert (answer.status_code, answer.json()["code"]) == (404, "report_pdf_not_found")


def test_a_his_down_while_downloading_a_pdf_not_stored_is_a_503(patient_client, stored, fake_his):
    report = CheckupReport.objects.get(number="TJ1")
    report.pdf.delete(save=True)
    fake_his.control(error_rate=1.0)

    answer = patient_client.get(API + f"checkups/{report.pk}/pdf/")

    assert (answer.status_code, answer.json()["code"]) == (503, "his_unavailable")


def test_the_lists_answer_from_our_copy_while_the_his_is_down(patient_client, stored, fake_his):
    cache.clear()  # the next list asks the HIS again
    fake_his.control(error_rate=1.0)

    answer = patient_client.get(API + "checkups/")

    assert answer.status_code == 200
    assert [r["number"] for r in answer.json()["results"]] == ["TJ1", "TJ0"]


def test_an_account_without_a_bound_person_is_offered_binding(stranger, hospital):
    answer = client_for(stranger).get(API + "exams/")

    assert (answer.status_code, answer.json()["code"]) == (409, "binding_required")


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("kind", ["checkups", "exams"])
def test_the_lists_take_the_same_number_of_queries_for_1_and_20_reports(patient_client, hospital, patient, kind):
    cache.add(f"reports:fetched:{hospital.pk}:{patient.pk}", True, 300)  # the HIS was asked a moment ago
    model = CheckupReport if kind == "checkups" else ExamResult
    extra = {"title": "体检报告", "checkup_date": timezone.localdate()} if kind == "checkups" else {}
    if kind == "exams":
        extra = {"name": "血常规", "sampled_at": timezone.now(), "items": [{"name": "x"}]}

    def add(count: int, start: int) -> None:
        model.objects.bulk_create(
            model(
                hospital=hospital,
                patient=patient,
                number=f"N{start + n}",
                his_patient_id="H0001",
                medical_card_number="M1",
                reported_at=timezone.now(),
                his_updated_at=timezone.now(),
                **extra,
            )
            for n in range(count)
        )

    add(1, 0)
    one = count_queries(patient_client, API + f"{kind}/")
    add(19, 1)
    twenty = count_queries(patient_client, API + f"{kind}/")

    assert one == twenty


def test_new_reports_are_counted_on_the_my_page_until_opened(patient_client, stored):
    assert patient_client.get(ME).json()["counts"]["new_reports"] == 4  # the current person's: TJ1, TJ0, JY1, JY2

    patient_client.get(API + f"exams/{ExamResult.objects.get(number='JY1').pk}/")

    assert patient_client.get(ME).json()["counts"]["new_reports"] == 3

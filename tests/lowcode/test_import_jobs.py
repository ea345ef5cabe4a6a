"""Admin imports have a size and a row limit, refused before the file is read; a large allowed
file becomes an import job that a worker checks and, once confirmed, imports, with its progress
and result on a page, under the same hospital restrictions as an import in the request."""

import io
from datetime import timedelta

import openpyxl
import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.utils import timezone
from django_q.exceptions import TimeoutException

from hcm.catalog.models import Product
from hcm.hospitals.models import Membership
from hcm.hospitals.roles import Role
from hcm.lowcode import import_jobs
from hcm.lowcode.import_limits import LimitedImportForm
from hcm.lowcode.models import ImportJob
from tests.catalog.conftest import category, exam_item
from tests.conftest import make_operator

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/catalog/product/"
HEADER = "code,name,kind,category,price,original_price,exam_items,gender,age_min,age_max,notes\n"
State = ImportJob.State


def logged_in(client, user):
    client.force_login(user)
    return client


def product_rows(count: int, *, hospital: str | None = None, items: str = "一般检查,血常规") -> str:
    prefix = f"{hospital}," if hospital else ""
    return "".join(
        f'{prefix}P{i:05d},套餐{i},package,入职体检,158.00,198.00,"{items}",any,18,60,空腹\n'
        for i in range(1, count + 1)
    )


def upload(client, content: bytes, *, name: str = "products.csv", format_name: str = "CSV"):
    formats = [f.__name__ for f in admin.site._registry[Product].get_import_formats()]
    return client.post(
        f"{CHANGELIST}import/",
        {"resource": "0", "format": str(formats.index(format_name)), "import_file": SimpleUploadedFile(name, content)},
    )


def job_url(job, view: str = "change") -> str:
    return f"/admin/lowcode/importjob/{job.pk}/{view}/"


def form_errors(response) -> list[str]:
    return [e.replace("\xa0", " ") for e in response.context["form"].errors.get("import_file", [])]


@pytest.fixture
def catalog(hospital_a):
    category(hospital_a, "入职体检")
    return [exam_item(hospital_a, name) for name in ("一般检查", "血常规")]


@pytest.fixture
def background_above_5_rows(settings):
    settings.HCM_IMPORT_BACKGROUND_ROWS = 5


class RecordingCache:
    """The cache as import jobs see it, remembering the progress they write."""

    def __init__(self, cache):
        self.cache, self.progress = cache, []

    def set(self, key, value, timeout=None):
        self.progress.append(value)
        self.cache.set(key, value, timeout)

    def __getattr__(self, name):
        return getattr(self.cache, name)


# --- Limits -------------------------------------------------------------------------------


def test_a_10_mb_file_of_millions_of_rows_is_refused_naming_the_size_limit_and_nothing_is_written(
    client, admin_a, catalog
):
    big = (HEADER + "A,1\n" * 2_600_000).encode()
    assert len(big) > 10_000_000

    response = upload(logged_in(client, admin_a), big)

    assert response.status_code == 200
    assert form_errors(response) == [
        f"文件大小为 {len(big) / 1024 / 1024:.1f} MB，每次导入的文件不能超过 5.0 MB，请拆分成较小的文件。"
    ]
    assert not Product.objects.exists() and not ImportJob.objects.exists()


def test_the_size_is_checked_from_the_upload_before_any_of_it_is_read(settings):
    settings.HCM_IMPORT_MAX_BYTES = 1000

    class Unreadable(io.RawIOBase):
        def readinto(self, buffer):
            raise AssertionError("the file was read")

    model_admin = admin.site._registry[Product]
    upload = UploadedFile(file=Unreadable(), name="big.csv", content_type="text/csv", size=1001)
    formats = model_admin.get_import_formats()
    form = LimitedImportForm(
        formats,
        model_admin.resource_classes,
        data={"resource": "0", "format": str([f.__name__ for f in formats].index("CSV"))},
        files={"import_file": upload},
    )

    assert not form.is_valid()
    assert form.errors["import_file"] == [
        "文件大小为 1001\xa0字节，每次导入的文件不能超过 1000\xa0字节，请拆分成较小的文件。"
    ]


def test_rows_up_to_the_limit_import_and_one_more_is_refused_naming_the_limit_with_nothing_written(
    client, settings, admin_a, catalog
):
    settings.HCM_IMPORT_MAX_ROWS = 20
    client = logged_in(client, admin_a)

    refused = upload(client, (HEADER + product_rows(21)).encode())

    assert form_errors(refused) == ["文件超过 20 行，每次最多导入 20 行，请拆分成较小的文件。"]
    assert not Product.objects.exists() and not ImportJob.objects.exists()

    preview = upload(client, (HEADER + "\n" + product_rows(20) + "\n").encode())  # blank lines are not rows
    assert client.post(f"{CHANGELIST}process_import/", preview.context["confirm_form"].initial).status_code == 302
    assert Product.objects.count() == 20


def test_millions_of_tiny_rows_within_the_size_limit_are_refused_by_the_row_limit(client, admin_a, catalog):
    response = upload(logged_in(client, admin_a), ("code\n" + "a\n" * 2_000_000).encode())

    assert form_errors(response) == ["文件超过 20000 行，每次最多导入 20000 行，请拆分成较小的文件。"]
    assert not Product.objects.exists() and not ImportJob.objects.exists()


def xlsx(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_excel_rows_are_counted_against_the_limit_and_a_spreadsheet_that_unpacks_too_far_is_refused(
    client, settings, admin_a, catalog
):
    settings.HCM_IMPORT_MAX_ROWS = 3
    settings.HCM_IMPORT_MAX_BYTES = 8000
    client = logged_in(client, admin_a)
    header = HEADER.strip().split(",")
    row = ["RZ-{}", "套餐", "package", "入职体检", "158.00", "", "血常规", "any", "", "", ""]

    too_many = upload(client, xlsx([header, *[[row[0].format(i), *row[1:]] for i in range(4)]]), format_name="XLSX")
    bomb = upload(client, xlsx([header, [*row, *["a" * 30_000] * 10]]), format_name="XLSX")
    allowed = upload(client, xlsx([header, *[[row[0].format(i), *row[1:]] for i in range(3)]]), format_name="XLSX")

    assert form_errors(too_many) == ["文件超过 3 行，每次最多导入 3 行，请拆分成较小的文件。"]
    assert form_errors(bomb) == ["该表格解压后超过 156.2 KB，请拆分成较小的文件。"]
    assert form_errors(allowed) == [] and allowed.context["result"].totals["new"] == 3  # empty cells are blank text
    assert not Product.objects.exists() and not ImportJob.objects.exists()


def test_a_csv_saved_in_a_chinese_legacy_encoding_is_refused_with_what_to_do(client, admin_a, catalog):
    response = upload(logged_in(client, admin_a), (HEADER + product_rows(2)).encode("gbk"))

    assert form_errors(response) == [
        "文件不是 UTF-8 编码的文本。请在 Excel 中另存为“CSV UTF-8”，或直接上传 .xlsx 文件。"
    ]
    assert not Product.objects.exists() and not ImportJob.objects.exists()


def test_only_formats_whose_rows_can_be_counted_are_offered_for_import():
    model_admin = admin.site._registry[Product]
    assert [f.__name__ for f in model_admin.get_import_formats()] == ["CSV", "XLSX", "TSV"]
    assert "JSON" in [f.__name__ for f in model_admin.get_export_formats()]


def test_a_confirmation_naming_a_file_the_preview_did_not_keep_is_refused_without_a_500(client, admin_a, catalog):
    client = logged_in(client, admin_a)
    forged = {"import_file_name": "no-such-file", "original_file_name": "x.csv", "format": "0", "resource": "0"}

    response = client.post(f"{CHANGELIST}process_import/", forged, follow=True)

    assert response.status_code == 200
    assert "上传的文件已不存在，请重新上传。" in [str(m) for m in response.context["messages"]]
    assert not Product.objects.exists()


# --- Background jobs ----------------------------------------------------------------------


def test_a_large_file_is_checked_then_imported_by_a_worker_with_its_progress_recorded(
    client, admin_a, hospital_a, catalog, background_above_5_rows, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(import_jobs, "PROGRESS_EVERY", 5)
    recording = RecordingCache(import_jobs.cache)
    monkeypatch.setattr(import_jobs, "cache", recording)
    client = logged_in(client, admin_a)

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, (HEADER + product_rows(12)).encode())

    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == job_url(job)
    assert (job.user, job.model, job.file_name, job.state) == (admin_a, Product, "products.csv", State.CHECKED)
    assert (job.total_rows, job.rows_done, job.totals["new"], job.error_count) == (12, 12, 12, 0)
    assert recording.progress == [5, 10]
    assert not Product.objects.exists()  # the check writes nothing
    page = client.get(job_url(job)).content.decode()
    assert "已处理 12 / 12 行" in page and "检查未发现错误：新增 12 条" in page and "确认导入" in page
    assert 'http-equiv="refresh"' not in page

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(job_url(job, "confirm")).status_code == 302

    job.refresh_from_db()
    assert (job.state, job.rows_done, job.totals["new"], bytes(job.content)) == (State.DONE, 12, 12, b"")
    assert recording.progress == [5, 10, 5, 10]
    products = Product.objects.order_by("code")
    assert [p.code for p in products] == [f"P{i:05d}" for i in range(1, 13)]
    assert {p.hospital for p in products} == {hospital_a}
    assert list(products[0].exam_items.order_by("name").values_list("name", flat=True)) == ["一般检查", "血常规"]
    assert LogEntry.objects.filter(user=admin_a).count() == 12
    assert "已导入：新增 12 条" in client.get(job_url(job)).content.decode()
    jobs = client.get("/admin/lowcode/importjob/")
    assert list(jobs.context["cl"].result_list) == [job]
    assert "导入任务" in jobs.content.decode() and "12 / 12" in jobs.content.decode()


def test_a_running_job_shows_its_live_progress_and_refreshes(client, admin_a):
    job = ImportJob.objects.create(
        content_type=ContentType.objects.get_for_model(Product),
        user=admin_a,
        file_name="big.csv",
        file_format="CSV",
        total_rows=120,
    )
    job.state, job.started_at = State.IMPORTING, timezone.now()
    job.save()
    import_jobs._Progress(job.pk)(50)

    page = logged_in(client, admin_a).get(job_url(job)).content.decode()

    assert "已处理 50 / 120 行" in page and 'http-equiv="refresh"' in page


def test_a_job_whose_worker_died_shows_as_interrupted_and_one_stopped_by_the_timeout_as_failed(
    client, admin_a, catalog, background_above_5_rows, monkeypatch, django_capture_on_commit_callbacks
):
    client = logged_in(client, admin_a)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, (HEADER + product_rows(6)).encode())
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(state=State.IMPORTING, started_at=timezone.now() - timedelta(hours=1))

    page = client.get(job_url(job)).content.decode()
    assert "已中断" in page and 'http-equiv="refresh"' not in page

    def too_long(job, *, dry_run):
        raise TimeoutException("Task exceeded maximum timeout value")

    monkeypatch.setattr(import_jobs, "_run_step", too_long)
    ImportJob.objects.filter(pk=job.pk).update(state=State.CONFIRMED)
    with pytest.raises(TimeoutException):
        import_jobs.import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.state, job.errors[0]["message"], bytes(job.content)) == (
        State.FAILED,
        "任务运行超过 30 分钟，已被停止。",
        b"",
    )
    assert not Product.objects.exists()


def test_a_background_check_lists_errors_by_row_and_nothing_can_be_imported(
    client, admin_a, catalog, background_above_5_rows, django_capture_on_commit_callbacks
):
    rows = product_rows(6) + product_rows(1, items="血常规,肠镜").replace("P00001", "P00007")
    client = logged_in(client, admin_a)

    with django_capture_on_commit_callbacks(execute=True):
        upload(client, (HEADER + rows).encode())
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(job_url(job, "confirm"))

    job.refresh_from_db()
    assert (job.state, job.error_count, bytes(job.content)) == (State.INVALID, 1, b"")
    assert job.errors == [{"row": 7, "field": "exam_items", "message": "未找到：肠镜。"}]
    assert "未找到：肠镜。" in client.get(job_url(job)).content.decode()
    assert not Product.objects.exists()


def test_the_background_job_writes_only_where_the_operator_may_import(
    client, hospital_a, hospital_b, catalog, background_above_5_rows, django_capture_on_commit_callbacks
):
    operator = make_operator("two_hospitals", hospital=hospital_a)
    Membership.objects.create(user=operator, hospital=hospital_b, role=Role.CUSTOMER_SERVICE)
    category(hospital_b, "入职体检")
    client = logged_in(client, operator)

    with django_capture_on_commit_callbacks(execute=True):
        upload(client, ("hospital," + HEADER + product_rows(6, hospital="hospb", items="")).encode())

    job = ImportJob.objects.get()
    assert job.state == State.INVALID and job.error_count == 6
    assert {(e["field"], e["message"]) for e in job.errors} == {("", "未知的医院编码“hospb”。")}
    assert not Product.objects.exists()


def test_an_operator_who_lost_the_right_to_import_before_confirming_imports_nothing(
    client, admin_a, catalog, background_above_5_rows, django_capture_on_commit_callbacks
):
    client = logged_in(client, admin_a)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, (HEADER + product_rows(6)).encode())
    job = ImportJob.objects.get()
    assert job.state == State.CHECKED

    Membership.objects.filter(user=admin_a).update(role=Role.CUSTOMER_SERVICE)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(job_url(job, "confirm"))

    job.refresh_from_db()
    assert job.state == State.FAILED
    assert job.errors == [{"row": None, "field": "", "message": "您已无权导入体检商品。"}]
    assert not Product.objects.exists()


def test_another_operator_can_neither_see_nor_confirm_a_job(
    client, admin_a, admin_b, catalog, background_above_5_rows, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        upload(logged_in(client, admin_a), (HEADER + product_rows(6)).encode())
    job = ImportJob.objects.get()
    other = logged_in(client, admin_b)

    assert other.get(job_url(job)).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        assert other.post(job_url(job, "confirm")).status_code == 404
    assert list(other.get("/admin/lowcode/importjob/").context["cl"].result_list) == []

    job.refresh_from_db()
    assert job.state == State.CHECKED and not Product.objects.exists()


def test_a_job_runs_each_step_once_however_often_the_task_is_delivered(
    client, admin_a, catalog, background_above_5_rows, django_capture_on_commit_callbacks
):
    client = logged_in(client, admin_a)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, (HEADER + product_rows(6)).encode())
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(job_url(job, "confirm"))
        client.post(job_url(job, "confirm"))

    assert import_jobs.import_job_run(job_id=job.pk) == "nothing to do"
    assert Product.objects.count() == 6 and LogEntry.objects.count() == 6
    job.refresh_from_db()
    assert job.state == State.DONE


def test_a_job_left_unconfirmed_for_a_day_ends_and_drops_its_file(
    client, admin_a, catalog, background_above_5_rows, django_capture_on_commit_callbacks
):
    client = logged_in(client, admin_a)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, (HEADER + product_rows(6)).encode())
    old = ImportJob.objects.get()
    ImportJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))

    with django_capture_on_commit_callbacks(execute=True):
        upload(client, (HEADER + product_rows(7)).encode())

    old.refresh_from_db()
    assert (old.state, bytes(old.content)) == (State.FAILED, b"")
    assert old.errors[0]["message"] == "一天内未确认导入，请重新上传文件。"
    assert client.post(job_url(old, "confirm")).status_code == 302
    assert not Product.objects.exists()


def test_job_pages_never_answer_500(client, admin_a, admin_b):
    client = logged_in(client, admin_a)
    assert client.get("/admin/lowcode/importjob/").status_code == 200
    assert client.get("/admin/lowcode/importjob/abc/change/").status_code == 404
    assert client.post("/admin/lowcode/importjob/abc/confirm/").status_code == 404
    assert client.get("/admin/lowcode/importjob/1/confirm/").status_code == 405
    assert client.get("/admin/lowcode/importjob/add/").status_code == 403

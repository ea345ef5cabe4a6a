"""Patient records in the admin: masked lists, full values only for roles that may reveal them
(audit-logged), ID-number search by keyed hash, import with preview and re-import, exports."""

import pytest
import tablib
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from hcm.hospitals.roles import Role
from hcm.lowcode.models import AuditEntry
from hcm.patients.models import PatientRecord
from tests.conftest import make_operator
from tests.factories import id_number
from tests.patients.conftest import record

CHANGELIST = "/admin/patients/patientrecord/"


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def on_file(hospital):
    return record(hospital, card="M0001", name="尤小明", number=id_number("19900101", 125), phone="13812345678")


@pytest.fixture
def hospital_admin(hospital):
    return make_operator("admin_hospa", hospital=hospital)


@pytest.fixture
def cashier(hospital):
    return make_operator("cashier_hospa", hospital=hospital, role=Role.CASHIER)


@pytest.mark.parametrize("role", [Role.HOSPITAL_ADMIN, Role.CASHIER, Role.CUSTOMER_SERVICE])
def test_lists_mask_names_id_numbers_and_phones_for_every_role(hospital, on_file, role):
    page = logged_in(make_operator(f"op_{role}", hospital=hospital, role=role)).get(CHANGELIST).content.decode()
    assert "尤**" in page and on_file.id_number[:4] + "****" + on_file.id_number[-4:] in page
    assert "138****5678" in page
    assert "尤小明" not in page and on_file.id_number not in page and "13812345678" not in page


def test_the_hospital_admin_sees_the_full_record_and_the_view_is_audited(hospital_admin, on_file):
    page = logged_in(hospital_admin).get(f"{CHANGELIST}{on_file.pk}/change/").content.decode()

    assert on_file.id_number in page and "尤小明" in page
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.object_id, entry.hospital_id) == (
        "view_identity",
        hospital_admin,
        str(on_file.pk),
        on_file.hospital_id,
    )
    assert entry.ip_address == "127.0.0.1"


def test_a_cashier_sees_the_record_masked_and_leaves_no_reveal_trail(cashier, on_file):
    response = logged_in(cashier).get(f"{CHANGELIST}{on_file.pk}/change/")
    page = response.content.decode()
    assert response.status_code == 200
    assert on_file.id_number not in page and "尤小明" not in page and "13812345678" not in page
    assert "尤**" in page
    assert not AuditEntry.objects.exists()


def test_search_by_a_whole_id_number_finds_the_encrypted_record(hospital_admin, hospital, on_file):
    record(hospital, card="M0009", name="林某某", number=id_number("19800101", 9))
    response = logged_in(hospital_admin).get(CHANGELIST, {"q": on_file.id_number.lower()})
    assert list(response.context["cl"].result_list) == [on_file]


def _import(client, content: str):
    model_admin = admin.site._registry[PatientRecord]
    formats = [f.__name__ for f in model_admin.get_import_formats()]
    upload = SimpleUploadedFile("patients.csv", content.encode("utf-8"), content_type="text/csv")
    return client.post(
        f"{CHANGELIST}import/", {"resource": "0", "format": str(formats.index("CSV")), "import_file": upload}
    )


def test_import_previews_rows_reports_errors_and_reimport_updates(hospital_admin, hospital):
    good, other = id_number("19900101", 1), id_number("19850505", 2)
    client = logged_in(hospital_admin)
    text = (
        "medical_card_number,name,gender,birth_date,id_number,phone\n"
        f"C100,张三,男,1990-01-01,{good},13800000001\n"
        f"C101,李四,female,1985-05-05,{other},13800000002\n"
    )

    preview = _import(client, text + "C102,王五,男,1970-01-01,123456,1380000\n")

    assert preview.status_code == 200
    result = preview.context["result"]
    assert result.has_validation_errors()
    errors = {field for row in result.invalid_rows for field in row.field_specific_errors}
    assert errors == {"id_number", "phone"}
    assert not PatientRecord.objects.exists()  # a preview with errors writes nothing

    preview = _import(client, text)
    assert preview.status_code == 200 and not preview.context["result"].has_errors()
    assert not PatientRecord.objects.exists()  # the preview itself writes nothing
    confirm = preview.context["confirm_form"]
    done = client.post(f"{CHANGELIST}process_import/", confirm.initial)
    assert done.status_code == 302
    rows = PatientRecord.objects.order_by("medical_card_number")
    assert [(r.medical_card_number, r.name, r.gender, r.id_number) for r in rows] == [
        ("C100", "张三", "male", good),
        ("C101", "李四", "female", other),
    ]
    assert {r.hospital_id for r in rows} == {hospital.pk}

    preview = _import(client, text.replace("13800000002", "13900000002"))
    client.post(f"{CHANGELIST}process_import/", preview.context["confirm_form"].initial)
    assert PatientRecord.objects.count() == 2
    assert PatientRecord.objects.get(medical_card_number="C101").phone == "13900000002"


def test_export_includes_identities_only_for_roles_that_may_reveal_them(hospital, hospital_admin, on_file):
    service = make_operator("service_hospa", hospital=hospital, role=Role.CUSTOMER_SERVICE)
    model_admin = admin.site._registry[PatientRecord]

    def export(user) -> tablib.Dataset:
        from django.test import RequestFactory

        request = RequestFactory().get(f"{CHANGELIST}export/")
        request.user = user
        request.META["REMOTE_ADDR"] = "10.0.0.9"
        return model_admin.get_data_for_export(request, model_admin.get_export_queryset(request))

    limited = export(service)
    assert "id_number" not in limited.headers and "name" not in limited.headers and "phone" not in limited.headers
    assert list(limited["medical_card_number"]) == ["M0001"]
    assert not AuditEntry.objects.exists()

    full = export(hospital_admin)
    assert list(full["id_number"]) == [on_file.id_number] and list(full["gender"]) == ["未知"]
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.detail, entry.actor) == ("export_identity", {"rows": "1"}, hospital_admin)

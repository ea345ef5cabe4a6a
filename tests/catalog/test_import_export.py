"""Operators import and export the catalog as spreadsheets: items named in one cell, re-imports
update instead of duplicating, unknown names are errors, exports hold their hospital only."""

from decimal import Decimal

import pytest
import tablib
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory

from hcm.catalog.models import ExamItem, Product
from tests.catalog.conftest import category, exam_item, product

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/catalog/product/"
HEADER = "code,name,kind,category,price,original_price,exam_items,gender,age_min,age_max,notes\n"


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def import_file(client, content: str):
    """Upload, preview, and confirm when the preview is clean; returns the preview's result."""
    model_admin = admin.site._registry[Product]
    formats = [f.__name__ for f in model_admin.get_import_formats()]
    upload = SimpleUploadedFile("products.csv", content.encode("utf-8"), content_type="text/csv")
    preview = client.post(
        f"{CHANGELIST}import/", {"resource": "0", "format": str(formats.index("CSV")), "import_file": upload}
    )
    assert preview.status_code == 200
    result = preview.context["result"]
    if not (result.has_errors() or result.has_validation_errors()):
        assert client.post(f"{CHANGELIST}process_import/", preview.context["confirm_form"].initial).status_code == 302
    return result


@pytest.fixture
def items(hospital_a):
    return [exam_item(hospital_a, name) for name in ("一般检查", "血常规", "肝功能", "心电图")]


def test_import_creates_products_with_items_named_in_one_cell_and_a_reimport_updates_them(hospital_a, admin_a, items):
    category(hospital_a, "入职体检")
    category(hospital_a, "单项检查")
    client = logged_in(admin_a)
    rows = (
        'RZ-001,入职体检基础套餐,package,入职体检,158.00,198.00,"一般检查,血常规,肝功能",any,18,60,空腹\n'
        "DX-001,心电图,single,单项检查,35.00,,心电图,any,,,\n"
    )

    import_file(client, HEADER + rows)

    created = {p.code: p for p in Product.objects.all()}
    assert sorted(created) == ["DX-001", "RZ-001"]
    package = created["RZ-001"]
    assert (package.hospital, package.kind, package.category.name, package.price, package.original_price) == (
        hospital_a,
        "package",
        "入职体检",
        Decimal("158.00"),
        Decimal("198.00"),
    )
    assert (package.age_min, package.age_max, package.notes, package.state) == (18, 60, "空腹", "draft")
    assert list(package.exam_items.values_list("name", flat=True)) == ["一般检查", "血常规", "肝功能"]

    result = import_file(
        client, HEADER + rows.replace("158.00,198.00", "168.00,198.00").replace("血常规,肝功能", "血常规，心电图")
    )

    assert (result.totals["new"], result.totals["update"], result.totals["skip"]) == (0, 1, 1)
    assert Product.objects.count() == 2
    package.refresh_from_db()
    assert package.price == Decimal("168.00")
    assert list(package.exam_items.values_list("name", flat=True)) == ["一般检查", "血常规", "心电图"]


def test_an_unknown_item_name_is_an_error_of_its_column_and_nothing_is_written(hospital_a, admin_a, items):
    category(hospital_a, "入职体检")

    result = import_file(
        logged_in(admin_a),
        HEADER + 'RZ-001,入职体检基础套餐,package,入职体检,158.00,,"血常规,胃镜,肠镜",any,,,\n',
    )

    assert [row.field_specific_errors for row in result.invalid_rows] == [{"exam_items": ["未找到：肠镜、胃镜。"]}]
    assert not Product.objects.exists()


def test_item_names_are_looked_up_in_the_operators_hospital_only(hospital_a, hospital_b, admin_a):
    category(hospital_a, "入职体检")
    exam_item(hospital_b, "血常规")

    result = import_file(
        logged_in(admin_a), HEADER + "RZ-001,入职体检基础套餐,package,入职体检,158.00,,血常规,any,,,\n"
    )

    assert [row.field_specific_errors for row in result.invalid_rows] == [{"exam_items": ["未找到：血常规。"]}]
    assert not Product.objects.exists()


def test_export_holds_only_the_operators_hospital_with_items_by_name(hospital_a, hospital_b, admin_a, items):
    product(hospital_a, category=category(hospital_a), code="RZ-001", name="入职体检基础套餐", exam_items=items[:2])
    product(hospital_b, category=category(hospital_b), code="RZ-001", name="乙医院套餐")
    model_admin = admin.site._registry[Product]
    request = RequestFactory().get(f"{CHANGELIST}export/")
    request.user = admin_a

    dataset = model_admin.get_data_for_export(request, model_admin.get_export_queryset(request))

    assert (dataset["hospital"], dataset["code"], dataset["name"]) == (["hospa"], ["RZ-001"], ["入职体检基础套餐"])
    assert dataset["exam_items"] == ["一般检查,血常规"]
    assert dataset["price"] == ["158.00"]


def test_an_exported_file_imports_back_unchanged(hospital_a, admin_a, items):
    product(hospital_a, category=category(hospital_a), code="RZ-001", name="入职体检基础套餐", exam_items=items)
    model_admin = admin.site._registry[Product]
    request = RequestFactory().get(CHANGELIST)
    request.user = admin_a
    resource_class = model_admin.get_import_resource_classes(request)[0]
    resource = resource_class(**model_admin.get_import_resource_kwargs(request))
    exported = resource.export(queryset=Product.objects.all())

    result = resource.import_data(tablib.Dataset().load(exported.csv, format="csv"), dry_run=False)

    assert not result.has_errors() and not result.has_validation_errors()
    assert (result.totals["new"], result.totals["update"], result.totals["skip"]) == (0, 0, 1)
    assert Product.objects.get().exam_items.count() == 4


def test_exam_items_import_by_name_per_hospital(hospital_a, admin_a):
    model_admin = admin.site._registry[ExamItem]
    request = RequestFactory().get("/admin/")
    request.user = admin_a
    resource = model_admin.get_import_resource_classes(request)[0](**model_admin.get_import_resource_kwargs(request))
    data = "name,code,description,clinical_significance,sort_order\n血常规,TJ101,五分类,筛查贫血,10\n"

    resource.import_data(tablib.Dataset().load(data, format="csv"), dry_run=False)
    resource.import_data(tablib.Dataset().load(data.replace("TJ101", "TJ102"), format="csv"), dry_run=False)

    assert list(ExamItem.objects.values_list("hospital__code", "name", "code")) == [("hospa", "血常规", "TJ102")]

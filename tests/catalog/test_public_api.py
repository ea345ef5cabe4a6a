"""What patients see: products on sale only, light list rows, search and filters, the detail
with its items, 404 when the mall is off, constant queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hcm.catalog.models import ProductImage
from tests.catalog.conftest import category, exam_item, product, switch_features

pytestmark = pytest.mark.django_db


def products(api, hospital, query: str = "") -> list[dict]:
    response = api.get(f"/api/v1/{hospital.code}/public/products/{query}")
    assert response.status_code == 200
    return response.json()["results"]


def names(rows) -> list[str]:
    return [row["name"] for row in rows]


@pytest.fixture
def shelves(hospital_a):
    """Two published categories of hospital A with one product each, plus what must not show."""
    employment = category(hospital_a, "入职体检", sort_order=10)
    women = category(hospital_a, "女性专项", sort_order=20)
    hidden = category(hospital_a, "筹备中", state="draft")
    product(hospital_a, category=employment, code="RZ-001", name="入职体检基础套餐", sort_order=10)
    product(hospital_a, category=women, code="NX-001", name="女性两癌筛查套餐", gender="female", sort_order=20)
    product(hospital_a, category=employment, code="RZ-009", name="草稿套餐", state="draft")
    product(hospital_a, category=employment, code="RZ-010", name="下架套餐", state="archived")
    product(hospital_a, category=hidden, code="X-001", name="未上架分类里的套餐")
    return {"employment": employment, "women": women}


def test_the_list_shows_only_published_products_of_published_categories_of_that_hospital(
    api, hospital_a, hospital_b, shelves
):
    product(hospital_b, category=category(hospital_b), code="RZ-001", name="乙医院套餐")

    assert names(products(api, hospital_a)) == ["入职体检基础套餐", "女性两癌筛查套餐"]
    assert names(products(api, hospital_b)) == ["乙医院套餐"]


def test_list_rows_carry_the_price_as_a_decimal_string_and_leave_the_long_texts_out(api, hospital_a):
    shelf = category(hospital_a, "中老年体检")
    row = product(
        hospital_a,
        category=shelf,
        code="ZLN-M01",
        name="中老年健康体检套餐（男）",
        price="1280.00",
        original_price="1580.00",
        gender="male",
        age_min=45,
        suitable_for="45 岁以上男性",
        description="很长的介绍",
        notes="检查当日空腹",
        cover="catalog/hospa/covers/ZLN-M01.png",
    )

    [listed] = api.get(f"/api/v1/{hospital_a.code}/public/products/", HTTP_ACCEPT_LANGUAGE="en").json()["results"]

    assert listed == {
        "id": row.pk,
        "kind": "package",
        "kind_label": "Checkup package",
        "category": shelf.pk,
        "category_name": "中老年体检",
        "name": "中老年健康体检套餐（男）",
        "code": "ZLN-M01",
        "price": "1280.00",
        "original_price": "1580.00",
        "cover": "http://testserver/media/catalog/hospa/covers/ZLN-M01.png",
        "gender": "male",
        "gender_label": "Male",
        "age_min": 45,
        "age_max": None,
        "suitable_for": "45 岁以上男性",
        "published_at": None,
    }


def test_search_by_name_and_filters_by_category_kind_and_gender(api, hospital_a, shelves):
    product(hospital_a, category=shelves["employment"], code="DX-001", name="血常规", kind="single", sort_order=30)

    assert names(products(api, hospital_a, "?search=两癌")) == ["女性两癌筛查套餐"]
    assert names(products(api, hospital_a, f"?category={shelves['employment'].pk}")) == ["入职体检基础套餐", "血常规"]
    assert names(products(api, hospital_a, "?kind=single")) == ["血常规"]
    assert names(products(api, hospital_a, "?gender=female")) == ["女性两癌筛查套餐"]


def test_the_detail_carries_the_long_texts_the_items_in_order_and_the_gallery(api, hospital_a):
    blood = exam_item(
        hospital_a, "血常规", sort_order=20, description="五分类血细胞分析", clinical_significance="筛查贫血"
    )
    general = exam_item(hospital_a, "一般检查", sort_order=10)
    package = product(
        hospital_a,
        category=category(hospital_a),
        code="RZ-001",
        name="入职体检基础套餐",
        description="覆盖大多数入职体检要求",
        notes="检查当日空腹",
        exam_items=[blood, general],
    )
    picture = ProductImage.objects.create(product=package, image="catalog/hospa/gallery/1.png")

    response = api.get(f"/api/v1/{hospital_a.code}/public/products/{package.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["price"], body["description"], body["notes"]) == (
        "入职体检基础套餐",
        "158.00",
        "覆盖大多数入职体检要求",
        "检查当日空腹",
    )
    assert body["exam_items"] == [
        {"id": general.pk, "name": "一般检查", "description": "", "clinical_significance": ""},
        {"id": blood.pk, "name": "血常规", "description": "五分类血细胞分析", "clinical_significance": "筛查贫血"},
    ]
    assert body["images"] == [{"id": picture.pk, "image": "http://testserver/media/catalog/hospa/gallery/1.png"}]


def test_the_detail_of_a_product_not_on_sale_or_of_another_hospital_is_a_404(api, hospital_a, hospital_b, shelves):
    draft = product(hospital_a, category=shelves["employment"], code="D", name="草稿", state="draft")
    theirs = product(hospital_b, category=category(hospital_b), code="T", name="乙医院套餐")

    for pk in (draft.pk, theirs.pk, 999999):
        response = api.get(f"/api/v1/{hospital_a.code}/public/products/{pk}/")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_categories_list_only_published_ones_in_their_order(api, hospital_a):
    category(hospital_a, "女性专项", sort_order=20)
    category(hospital_a, "入职体检", sort_order=10)
    category(hospital_a, "筹备中", state="draft")

    rows = api.get(f"/api/v1/{hospital_a.code}/public/categories/").json()["results"]

    assert [row["name"] for row in rows] == ["入职体检", "女性专项"]


def test_with_the_mall_switched_off_the_catalog_answers_404(api, hospital_a, admin_a, shelves):
    on_sale = product(hospital_a, category=shelves["women"], code="NX-002", name="女性全面体检套餐")

    switch_features(hospital_a, "[site]")

    for path in ("products/", f"products/{on_sale.pk}/", "categories/"):
        response = api.get(f"/api/v1/{hospital_a.code}/public/{path}")
        assert response.status_code == 404 and response.json()["code"] == "not_found", path
    switch_features(hospital_a, "[site, mall]")
    assert api.get(f"/api/v1/{hospital_a.code}/public/products/{on_sale.pk}/").status_code == 200


def _add_products(hospital, shelf, count: int, start: int) -> None:
    for n in range(start, start + count):
        items = [exam_item(hospital, f"项目{n}-{i}") for i in range(3)]
        row = product(hospital, category=shelf, code=f"P{n}", name=f"套餐{n}", exam_items=items)
        ProductImage.objects.create(product=row, image=f"catalog/hospa/gallery/{n}.png")


def test_the_product_list_issues_the_same_number_of_queries_for_1_and_30_products(api, hospital_a):
    shelf = category(hospital_a)
    url = f"/api/v1/{hospital_a.code}/public/products/?page_size=100"
    _add_products(hospital_a, shelf, 1, 0)
    api.get(url)  # warm caches outside the measurement
    with CaptureQueriesContext(connection) as one:
        assert len(products(api, hospital_a, "?page_size=100")) == 1
    _add_products(hospital_a, shelf, 29, 1)
    with CaptureQueriesContext(connection) as thirty:
        assert len(products(api, hospital_a, "?page_size=100")) == 30

    assert len(thirty) == len(one)

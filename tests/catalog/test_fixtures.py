"""Each demo hospital's catalog loads through the import path, publishes, and loads again
without duplicating anything."""

import io

import pytest
from django.core.management import call_command

from hcm.catalog.models import Category, ExamItem, Product
from hcm.catalog.selectors import products_for_sale
from hcm.hospitals.models import Hospital


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def catalog_counts() -> dict:
    return {
        (model.__name__, code): model.objects.filter(hospital__code=code).count()
        for model in (Category, ExamItem, Product)
        for code in ("ptdemo", "xmchild")
    }


@pytest.mark.django_db
def test_the_demo_catalog_loads_published_and_a_second_load_duplicates_nothing(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    run("onboard", *[str(p) for p in sorted(settings.HCM_CONFIG_DIR.glob("*.yaml"))])

    first = run("load_fixtures")
    counts = catalog_counts()
    second = run("load_fixtures")

    assert "ptdemo catalog_products.csv: 13 new, 0 updated, 0 unchanged" in first
    assert "xmchild catalog_products.csv: 9 new, 0 updated, 0 unchanged" in first
    assert "ptdemo catalog_products.csv: 0 new, 0 updated, 13 unchanged" in second
    assert "xmchild catalog_exam_items.csv: 0 new, 0 updated, 15 unchanged" in second
    assert (
        counts
        == catalog_counts()
        == {
            ("Category", "ptdemo"): 6,
            ("Category", "xmchild"): 5,
            ("ExamItem", "ptdemo"): 30,
            ("ExamItem", "xmchild"): 15,
            ("Product", "ptdemo"): 13,
            ("Product", "xmchild"): 9,
        }
    )
    for hospital in Hospital.objects.filter(code__in=["ptdemo", "xmchild"]):
        on_sale = list(products_for_sale(hospital))
        assert len(on_sale) == Product.objects.filter(hospital=hospital).count()
        assert all(p.cover.name.startswith(f"catalog/{hospital.code}/covers/") for p in on_sale)
        assert all(p.exam_items.all() for p in on_sale)
        assert all((tmp_path / p.cover.name).exists() for p in on_sale)
    package = Product.objects.get(hospital__code="ptdemo", code="NX-001")
    assert (package.name, str(package.price), package.gender, package.age_min, package.age_max) == (
        "女性两癌筛查套餐",
        "598.00",
        "female",
        25,
        65,
    )
    assert list(package.exam_items.values_list("name", flat=True)) == [
        "乳腺彩超",
        "妇科检查",
        "宫颈液基细胞学检查",
        "HPV 分型检测",
    ]

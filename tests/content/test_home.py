"""The public home page: every floor in one request, only published content, constant queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hcm.content.models import Article, Banner, Department, Doctor, Equipment, Page
from tests.factories import make_row, make_rows

PUBLISHED = {"state": "published"}


def home(api, hospital):
    response = api.get(f"/api/v1/{hospital.code}/public/site/home/")
    assert response.status_code == 200
    return response.json()


@pytest.mark.django_db
def test_home_page_returns_every_floor_with_published_content_only(api, hospital_a, hospital_b):
    department = make_row(Department, hospital_a, name="心血管内科", **PUBLISHED)
    make_row(Banner, hospital_a, title="体检季", image="banners/a.png", **PUBLISHED)
    make_row(Banner, hospital_a, title="草稿横幅", image="banners/b.png")
    make_row(Page, hospital_a, kind="intro", title="医院简介", body="三级甲等", **PUBLISHED)
    make_row(Doctor, hospital_a, name="林主任", title="chief", department=department, is_expert=True, **PUBLISHED)
    make_row(Doctor, hospital_a, name="陈医生", title="attending", is_expert=True, **PUBLISHED)
    make_row(Doctor, hospital_a, name="已归档", title="chief", state="archived")
    make_row(Equipment, hospital_a, name="3.0T 磁共振", **PUBLISHED)
    make_row(Article, hospital_a, kind="news", title="春季养生", body="b", **PUBLISHED)
    make_row(Article, hospital_a, kind="checkup_notice", title="体检前空腹", body="b", **PUBLISHED)
    make_row(Article, hospital_b, kind="news", title="乙医院新闻", body="b", **PUBLISHED)

    floors = home(api, hospital_a)

    assert floors["hospital"]["code"] == hospital_a.code and floors["hospital"]["name"] == "甲医院"
    assert [b["title"] for b in floors["banners"]] == ["体检季"]
    assert floors["intro"]["title"] == "医院简介"
    assert floors["checkup"]["intro"] is None
    assert [a["title"] for a in floors["checkup"]["notices"]] == ["体检前空腹"]
    assert [d["name"] for d in floors["experts"]] == ["林主任", "陈医生"]
    assert [d["name"] for d in floors["chief_physicians"]] == ["林主任"]
    assert floors["chief_physicians"][0]["department_name"] == "心血管内科"
    assert floors["chief_physicians"][0]["title_label"] == "主任医师"
    assert [e["name"] for e in floors["equipment"]] == ["3.0T 磁共振"]
    assert [a["title"] for a in floors["news"]] == ["春季养生"]
    assert [d["name"] for d in floors["departments"]] == ["心血管内科"]


@pytest.mark.django_db
def test_home_page_query_count_is_constant(api, hospital_a):
    def add(count):
        department = make_row(Department, hospital_a, **PUBLISHED)
        make_rows(Banner, hospital_a, count, image="x.png", **PUBLISHED)
        make_rows(Doctor, hospital_a, count, department=department, is_expert=True, title="chief", **PUBLISHED)
        make_rows(Equipment, hospital_a, count, **PUBLISHED)
        make_rows(Article, hospital_a, count, kind="news", body="b", **PUBLISHED)
        make_rows(Article, hospital_a, count, kind="checkup_notice", body="b", **PUBLISHED)
        make_rows(Page, hospital_a, 2, body="b", **PUBLISHED)

    add(1)
    home(api, hospital_a)
    with CaptureQueriesContext(connection) as few:
        home(api, hospital_a)
    add(20)
    with CaptureQueriesContext(connection) as many:
        floors = home(api, hospital_a)
    assert len(floors["experts"]) == 21
    assert len(many) == len(few)


@pytest.mark.django_db
def test_lists_carry_light_rows_and_the_detail_carries_the_body(api, hospital_a):
    article = make_row(Article, hospital_a, kind="news", title="春季养生", body="正文很长", summary="摘要", **PUBLISHED)
    rows = api.get(f"/api/v1/{hospital_a.code}/public/articles/").json()["results"]
    assert rows == [
        {
            "id": article.pk,
            "kind": "news",
            "title": "春季养生",
            "summary": "摘要",
            "cover": None,
            "published_at": rows[0]["published_at"],
            "kind_label": "健康资讯",
        }
    ]
    detail = api.get(f"/api/v1/{hospital_a.code}/public/articles/{article.pk}/").json()
    assert detail["body"] == "正文很长"
    assert "body" not in home(api, hospital_a)["news"][0]


@pytest.mark.django_db
def test_public_lists_filter_and_search(api, hospital_a):
    cardiology = make_row(Department, hospital_a, name="心血管内科", **PUBLISHED)
    make_row(Doctor, hospital_a, name="林主任", title="chief", department=cardiology, is_expert=True, **PUBLISHED)
    make_row(Doctor, hospital_a, name="陈医生", title="attending", specialty="高血压", **PUBLISHED)
    base = f"/api/v1/{hospital_a.code}/public/doctors/"

    def names(query):
        return [d["name"] for d in api.get(base + query).json()["results"]]

    assert names("?title=chief") == ["林主任"]
    assert names(f"?department={cardiology.pk}&is_expert=true") == ["林主任"]
    assert names("?search=高血压") == ["陈医生"]
    response = api.get(base + "?title=surgeon")
    assert response.status_code == 400 and response.json()["fields"]["title"]

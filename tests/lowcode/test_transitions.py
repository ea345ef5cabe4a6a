"""Transitions through the API and the admin run the same service, leave a trace, refuse with a reason."""

import pytest
from django.test import Client
from django.urls import reverse

from hcm.content.models import Article
from hcm.lowcode.models import TransitionLog
from hcm.patients.models import WechatAccount
from tests.conftest import make_operator, staff_client
from tests.factories import make_row
from tests.testapp.models import Note


def article_url(hospital, pk, name):
    return f"/api/v1/{hospital.code}/staff/articles/{pk}/{name}/"


@pytest.mark.django_db
def test_api_transition_changes_state_and_logs_who_and_what(hospital_a, admin_a):
    article = make_row(Article, hospital_a, title="春季养生", body="多喝水。")
    response = staff_client(admin_a).post(article_url(hospital_a, article.pk, "publish"))
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "published" and body["state_label"] == "已发布"
    assert body["transitions"] == ["archive", "withdraw"]
    log = TransitionLog.objects.get()
    assert (log.transition, log.source_state, log.target_state, log.actor) == ("publish", "draft", "published", admin_a)


@pytest.mark.django_db
def test_refused_transition_answers_409_with_the_reason_and_changes_nothing(hospital_a, admin_a):
    article = make_row(Article, hospital_a, title="空文章", body="")
    response = staff_client(admin_a).post(article_url(hospital_a, article.pk, "publish"))
    assert response.status_code == 409
    assert response.json() == {
        "code": "transition_not_allowed",
        "message": "内容不完整，请补充后再发布。",
        "fields": {},
    }
    article.refresh_from_db()
    assert article.state == "draft" and TransitionLog.objects.count() == 0


@pytest.mark.django_db
def test_transition_from_the_wrong_state_names_the_state(hospital_a, admin_a):
    article = make_row(Article, hospital_a, title="t", body="b")
    response = staff_client(admin_a).post(article_url(hospital_a, article.pk, "withdraw"))
    assert response.status_code == 409
    assert "草稿" in response.json()["message"]


@pytest.mark.django_db
def test_transition_input_is_validated_with_the_declared_form(hospital_a, admin_a):
    article = make_row(Article, hospital_a, title="t", body="b")
    client = staff_client(admin_a)
    response = client.post(article_url(hospital_a, article.pk, "archive"), {}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "reason" in response.json()["fields"]
    article.refresh_from_db()
    assert article.state == "draft"
    response = client.post(article_url(hospital_a, article.pk, "archive"), {"reason": "内容过期"}, format="json")
    assert response.status_code == 200
    article.refresh_from_db()
    assert (article.state, article.archive_reason) == ("archived", "内容过期")
    assert TransitionLog.objects.get().data == {"reason": "内容过期"}


@pytest.mark.django_db
def test_operator_without_write_permission_cannot_transition(hospital_a):
    cashier = make_operator("cashier_a", hospital=hospital_a, role="cashier")
    article = make_row(Article, hospital_a, title="t", body="b")
    assert staff_client(cashier).post(article_url(hospital_a, article.pk, "publish")).status_code == 403
    article.refresh_from_db()
    assert article.state == "draft"


@pytest.mark.django_db
def test_admin_transition_button_runs_the_service(hospital_a, admin_a):
    article = make_row(Article, hospital_a, title="t", body="b")
    client = Client()
    client.force_login(admin_a)
    change_url = reverse("admin:content_article_change", args=[article.pk])
    page = client.get(change_url).content.decode()
    assert 'value="publish"' in page and 'value="withdraw"' not in page  # only allowed buttons
    data = {"kind": "news", "title": "t", "summary": "", "body": "b", "sort_order": 0, "hospital": hospital_a.pk}
    response = client.post(change_url, {**data, "_fsm_transition_to": "publish"}, follow=True)
    assert "完成" in response.content.decode()
    article.refresh_from_db()
    assert article.state == "published"
    assert TransitionLog.objects.get().actor == admin_a


@pytest.mark.django_db
def test_admin_refused_transition_shows_the_reason(hospital_a, admin_a):
    article = make_row(Article, hospital_a, title="t", body="")
    client = Client()
    client.force_login(admin_a)
    change_url = reverse("admin:content_article_change", args=[article.pk])
    assert 'value="publish"' not in client.get(change_url).content.decode()  # hidden when not allowed
    response = client.post(
        change_url,
        {
            "kind": "news",
            "title": "t",
            "summary": "",
            "body": "",
            "sort_order": 0,
            "hospital": hospital_a.pk,
            "_fsm_transition_to": "publish",
        },
        follow=True,
    )
    assert "内容不完整" in response.content.decode()
    article.refresh_from_db()
    assert article.state == "draft"


@pytest.mark.django_db
def test_admin_transition_with_input_uses_the_form(hospital_a, admin_a):
    article = make_row(Article, hospital_a, title="t", body="b")
    client = Client()
    client.force_login(admin_a)
    url = reverse("admin:content_article_transition", args=[article.pk, "archive"])
    response = client.post(url, {"reason": ""})
    assert response.status_code == 200  # form redisplayed with its error
    article.refresh_from_db()
    assert article.state == "draft"
    client.post(url, {"reason": "过期"})
    article.refresh_from_db()
    assert (article.state, article.archive_reason) == ("archived", "过期")


@pytest.mark.django_db
def test_patient_scope_transition_and_config_driven_condition(api, hospital_a):
    me = make_row(WechatAccount, hospital_a)
    note = make_row(Note, hospital_a, account=me)
    api.force_authenticate(me)
    url = f"/api/v1/{hospital_a.code}/patient/notes/{note.pk}/"
    response = api.post(url + "ask/")
    assert response.status_code == 200 and response.json()["state"] == "asked"
    # Staff-only transitions are not routed in the patient scope.
    assert api.post(url + "resolve/", {"answer": "a", "priority": 1}, format="json").status_code == 404
    log = TransitionLog.objects.get()
    assert log.actor is None and log.actor_label == me.openid


@pytest.mark.django_db
def test_condition_reads_hospital_config(api, hospital_a):
    from hcm.hospitals.config import parse_config
    from hcm.hospitals.services import hospital_config_update

    me = make_row(WechatAccount, hospital_a)
    note = make_row(Note, hospital_a, account=me)
    config = parse_config("code: hospa\nname: 甲医院\nfeatures: [mall]\n")
    hospital_config_update(hospital=hospital_a, config=config, author=None)
    api.force_authenticate(me)
    response = api.post(f"/api/v1/{hospital_a.code}/patient/notes/{note.pk}/ask/")
    assert response.status_code == 409
    assert response.json()["message"] == "Questions are closed for this hospital."

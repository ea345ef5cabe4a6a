"""Content-Security-Policy: on the admin, the API docs and the API, strict enough to stop injected
scripts, and still letting the admin (unfold), Swagger UI and their assets load from this origin."""

import contextlib
import re
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, reverse

from tests.conftest import make_operator

HEADER = "Content-Security-Policy"


def directives(response) -> dict[str, list[str]]:
    policy = response.headers[HEADER]
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


class PageAssets(HTMLParser):
    """What a page would make the browser run or fetch."""

    def __init__(self):
        super().__init__()
        self.inline_scripts: list[str] = []
        self.handlers: list[str] = []
        self.urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.handlers += [f"{tag} {name}" for name in attrs if name.startswith("on")]
        self.handlers += [f"{tag} {value}" for value in attrs.values() if (value or "").startswith("javascript:")]
        if tag == "script":
            executable = attrs.get("type") in (None, "", "text/javascript", "module")
            self._in_script = executable and not attrs.get("src")
            if attrs.get("src"):
                self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("rel") in ("stylesheet", "icon") and attrs.get("href"):
            self.urls.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.urls.append(attrs["src"])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts.append(data.strip()[:80])


def assets(response) -> PageAssets:
    parser = PageAssets()
    parser.feed(response.content.decode())
    return parser


def assert_loads_under_its_policy(client: Client, response) -> None:
    """No inline script or handler (the policy would block it); every asset from here, and served."""
    page = assets(response)
    assert page.inline_scripts == [] and page.handlers == []
    for url in page.urls:
        assert url.startswith("/") and not url.startswith("//"), url  # this origin, no CDN
        fetched = client.get(url)
        assert fetched.status_code == 200, url
        if url.split("?")[0].endswith(".css"):
            body = b"".join(fetched.streaming_content) if fetched.streaming else fetched.content
            assert not re.search(rb"url\(\s*['\"]?(https?:)?//", body), url  # nothing fetched from elsewhere


@pytest.fixture
def operator(platform_admin, hospital_a):
    client = Client()
    client.force_login(platform_admin)
    return client


@pytest.mark.django_db
def test_the_policy_allows_only_this_origin_and_no_inline_script(api, hospital_a):
    response = api.get(f"/api/v1/{hospital_a.code}/public/site/home/")

    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"] and policy["form-action"] == ["'self'"]


@pytest.mark.django_db
def test_admin_pages_send_the_policy_with_eval_for_alpine_and_still_no_inline_script(client, operator):
    for response in (client.get(reverse("admin:login")), operator.get(reverse("admin:index"))):
        assert response.status_code == 200
        policy = directives(response)
        assert policy["script-src"] == ["'self'", "'unsafe-eval'"]
        assert "'unsafe-inline'" not in policy["script-src"] and policy["default-src"] == ["'self'"]
        assert_loads_under_its_policy(operator, response)


@pytest.mark.django_db
def test_every_admin_list_and_form_loads_under_the_policy(operator, hospital_a):
    pages = [reverse("admin:hospitals_hospital_config", args=[hospital_a.pk])]
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pages.append(reverse(f"{prefix}_changelist"))
        for extra in ("add", "import", "export"):
            with contextlib.suppress(NoReverseMatch):  # not every admin imports or exports
                pages.append(reverse(f"{prefix}_{extra}"))
    checked = 0
    for url in pages:
        response = operator.get(url)
        if response.status_code == 403:  # e.g. no add button for models only services create
            continue
        assert response.status_code == 200, url
        assert directives(response)["script-src"] == ["'self'", "'unsafe-eval'"], url
        page = assets(response)
        assert page.inline_scripts == [] and page.handlers == [], (url, page.inline_scripts, page.handlers)
        assert all(u.startswith("/") and not u.startswith("//") for u in page.urls), (url, page.urls)
        checked += 1
    assert checked > 40


@pytest.mark.django_db
def test_swagger_ui_loads_under_the_strict_policy(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert directives(response)["script-src"] == ["'self'"]  # no eval outside the admin
    assert_loads_under_its_policy(client, response)
    page = assets(response)
    start_up = next(url for url in page.urls if url.startswith("/api/docs/"))
    script = client.get(start_up)
    assert script["Content-Type"].startswith("application/javascript")
    text = script.content.decode()
    assert "SwaggerUIBundle(" in text and '"validatorUrl": null' in text  # no badge from swagger.io
    assert client.get("/api/schema/").status_code == 200


@pytest.mark.django_db
def test_the_staff_api_still_works_from_swagger_uis_origin(hospital_a):
    editor = make_operator("editor_csp", hospital=hospital_a, role="content_editor", password="right-pass-1")
    client = Client()
    token = client.post(
        "/api/v1/staff/token/", {"username": editor.username, "password": "right-pass-1"}, "application/json"
    )

    listed = client.get(
        f"/api/v1/{hospital_a.code}/staff/articles/", HTTP_AUTHORIZATION=f"Token {token.json()['token']}"
    )

    assert listed.status_code == 200 and HEADER in listed.headers


@pytest.mark.django_db
def test_every_generated_change_page_loads_under_the_policy(operator, hospital_a):
    from hcm.lowcode.admin import TenantAdminMixin
    from tests.factories import make_row

    checked = 0
    for model, model_admin in admin.site._registry.items():
        if not isinstance(model_admin, TenantAdminMixin):
            continue
        row = make_row(model, hospital_a)
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[row.pk])
        response = operator.get(url)
        assert response.status_code == 200, url
        page = assets(response)
        assert page.inline_scripts == [] and page.handlers == [], (url, page.inline_scripts, page.handlers)
        assert all(u.startswith("/") and not u.startswith("//") for u in page.urls), (url, page.urls)
        checked += 1
    assert checked > 30

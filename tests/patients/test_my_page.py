"""The my page: current person (masked), bound people, counts, switched-on features."""

from hcm.patients import mypage
from tests.conftest import make_hospital
from tests.patients.conftest import bind, record, signed_in

ME = "/api/v1/hospa/patient/me/"


def test_my_page_of_a_new_account_offers_binding(patient_api):
    body = patient_api.get(ME).json()
    assert body["current"] is None and body["bindings"] == []
    assert body["counts"] == {"unpaid_orders": 0, "upcoming_appointments": 0, "new_reports": 0, "cart_items": 0}
    assert body["binding_rules"] == {
        "identify_by": ["name", "id_number", "phone"],
        "max_bound_people": 2,
        "require_existing_record": True,
    }


def test_my_page_shows_the_current_person_masked_and_the_bound_list(patient_api, account, mother, child):
    bind(account, child, current=False)
    bind(account, mother)

    body = patient_api.get(ME).json()

    assert body["current"]["person"]["name"] == "尤**"
    assert body["current"]["person"]["id_number"] == mother.id_number[:4] + "****" + mother.id_number[-4:]
    assert [(b["person"]["medical_card_number"], b["is_current"]) for b in body["bindings"]] == [
        ("****0002", False),
        ("****0001", True),
    ]
    assert mother.id_number not in str(body) and "尤小明" not in str(body) and "13812345678" not in str(body)


def test_features_follow_the_hospitals_config(db):
    hospital = make_hospital("small", features="[site, appointments]")
    from hcm.patients.models import WechatAccount

    client = signed_in(WechatAccount.objects.create(hospital=hospital, openid="o1"))
    assert client.get("/api/v1/small/patient/me/").json()["features"] == ["site", "appointments"]


def test_counts_registered_by_other_apps_are_shown(patient_api, account, mother, monkeypatch):
    bind(account, mother)
    monkeypatch.setitem(mypage._counters, "cart_items", lambda acc, patient: 3 if patient == mother else 0)
    assert patient_api.get(ME).json()["counts"]["cart_items"] == 3


def test_the_my_page_is_built_in_a_constant_number_of_queries(patient_api, account, hospital, mother):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    bind(account, mother)
    patient_api.get(ME)
    with CaptureQueriesContext(connection) as one:
        patient_api.get(ME)
    for n in range(3):
        bind(account, record(hospital, card=f"F{n}"), current=False)
    with CaptureQueriesContext(connection) as many:
        assert len(patient_api.get(ME).json()["bindings"]) == 4
    assert len(many) == len(one)

"""Binding WeChat accounts to patient records: matching, refusals that reveal nothing, the
limit, switching the current person, unbinding, throttling, and isolation between accounts."""

import pytest

from hcm.patients.models import Binding, PatientRecord, WechatAccount
from tests.conftest import make_hospital
from tests.factories import id_number
from tests.patients.conftest import record, signed_in

URL = "/api/v1/hospa/patient/bindings/"


def details(patient: PatientRecord, **changes) -> dict:
    return {"name": patient.name, "id_number": patient.id_number, "phone": patient.phone, **changes}


def test_binding_the_one_matching_record_makes_it_current(patient_api, account, mother):
    response = patient_api.post(URL, {**details(mother), "relation": "self"}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["is_current"] is True and body["relation"] == "self" and body["relation_label"] == "本人"
    masked = mother.id_number[:4] + "****" + mother.id_number[-4:]
    assert body["person"] == {
        "name": "尤**",
        "gender": "unknown",
        "gender_label": "未知",
        "id_number": masked,
        "phone": "138****5678",
        "medical_card_number": "****0001",
    }
    account.refresh_from_db()
    assert account.current_patient == mother
    assert list(Binding.objects.values_list("account", "patient")) == [(account.pk, mother.pk)]


def test_id_numbers_match_whatever_the_case_of_the_check_letter(patient_api, hospital):
    first17 = "35032119900101123"
    from hcm.patients.identity import id_number_check_digit

    number = first17 + id_number_check_digit(first17)
    if not number.endswith("X"):
        number = next(
            f"3503211990010{n:04d}" + id_number_check_digit(f"3503211990010{n:04d}")
            for n in range(1000, 9999)
            if id_number_check_digit(f"3503211990010{n:04d}") == "X"
        )
    patient = record(hospital, card="X1", number=number)
    response = patient_api.post(URL, details(patient, id_number=number.lower()), format="json")
    assert response.status_code == 201


@pytest.mark.parametrize(
    "changes",
    [{"name": "尤小红"}, {"id_number": id_number("19800101", 999)}, {"phone": "13900000000"}],
    ids=["name", "id_number", "phone"],
)
def test_each_mismatch_is_refused_with_the_same_answer_as_a_stranger(patient_api, account, mother, changes):
    stranger = patient_api.post(
        URL, {"name": "陌生人", "id_number": id_number("19700101", 1), "phone": "13700000000"}, format="json"
    )
    response = patient_api.post(URL, details(mother, **changes), format="json")

    assert response.status_code == 400
    assert response.json() == stranger.json()
    assert response.json()["code"] == "binding_no_match"
    assert response.json()["message"] == (
        "没有与您填写的姓名、身份证号、手机号一致的就诊档案。请核对；如从未在本院就诊，请先到医院建档。"
    )
    assert set(response.json()["fields"]) == {"name", "id_number", "phone"}
    assert not Binding.objects.exists()
    account.refresh_from_db()
    assert account.current_patient is None


def test_missing_and_malformed_fields_are_named(patient_api, mother):
    response = patient_api.post(URL, {"name": "尤小明", "id_number": "350321199001011234"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert response.json()["fields"] == {
        "id_number": ["请输入有效的 18 位身份证号。"],
        "phone": ["该字段是必填项。"],
    }
    assert not Binding.objects.exists()


def test_the_configured_limit_of_bound_people(patient_api, hospital, mother, child):
    grandma = record(hospital, card="M0003", name="林阿婆", number=id_number("19450301", 333))
    assert patient_api.post(URL, details(mother), format="json").status_code == 201
    assert patient_api.post(URL, details(child), format="json").status_code == 201

    response = patient_api.post(URL, details(grandma), format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "binding_limit"
    assert response.json()["message"] == "最多可绑定 2 人，请先解绑一位。"
    assert Binding.objects.count() == 2


def test_binding_the_same_person_twice_is_refused(patient_api, mother):
    assert patient_api.post(URL, details(mother), format="json").status_code == 201
    response = patient_api.post(URL, details(mother), format="json")
    assert response.status_code == 409 and response.json()["code"] == "already_bound"
    assert Binding.objects.count() == 1


def test_family_members_of_two_accounts_may_bind_the_same_child(patient_api, hospital, child):
    other = signed_in(WechatAccount.objects.create(hospital=hospital, openid="openid-dad"))
    assert patient_api.post(URL, details(child), format="json").status_code == 201
    assert other.post(URL, details(child), format="json").status_code == 201


def test_list_and_switch_the_current_person(patient_api, account, mother, child):
    first = patient_api.post(URL, details(mother), format="json").json()
    second = patient_api.post(URL, {**details(child), "relation": "child"}, format="json").json()
    assert second["is_current"] is False

    response = patient_api.post(f"{URL}{second['id']}/switch/")

    assert response.status_code == 200 and response.json()["is_current"] is True
    listed = patient_api.get(URL).json()
    assert [(b["id"], b["is_current"]) for b in listed] == [(first["id"], False), (second["id"], True)]
    account.refresh_from_db()
    assert account.current_patient == child


def test_unbinding_the_current_person_makes_the_next_one_current(patient_api, account, mother, child):
    first = patient_api.post(URL, details(mother), format="json").json()
    patient_api.post(URL, details(child), format="json")

    assert patient_api.delete(f"{URL}{first['id']}/").status_code == 204

    account.refresh_from_db()
    assert account.current_patient == child
    only = patient_api.get(URL).json()
    assert [b["person"]["medical_card_number"] for b in only] == ["****0002"]
    patient_api.delete(f"{URL}{only[0]['id']}/")
    account.refresh_from_db()
    assert account.current_patient is None
    assert PatientRecord.objects.count() == 2  # records stay; only the bindings go


def test_another_account_never_sees_switches_or_unbinds_my_bindings(patient_api, hospital, other_hospital, mother):
    mine = patient_api.post(URL, details(mother), format="json").json()
    neighbour = signed_in(WechatAccount.objects.create(hospital=hospital, openid="openid-neighbour"))

    assert neighbour.get(URL).json() == []
    assert neighbour.post(f"{URL}{mine['id']}/switch/").status_code == 404
    assert neighbour.delete(f"{URL}{mine['id']}/").status_code == 404
    assert neighbour.get("/api/v1/hospa/patient/me/").json()["bindings"] == []
    assert Binding.objects.filter(pk=mine["id"]).exists()
    stranger = signed_in(WechatAccount.objects.create(hospital=other_hospital, openid="openid-me"))
    assert stranger.get(URL.replace("hospa", "hospb")).json() == []
    assert stranger.get(URL).status_code == 403


def test_records_of_another_hospital_never_match(patient_api, other_hospital):
    theirs = record(other_hospital, card="B0001")
    response = patient_api.post(URL, details(theirs), format="json")
    assert response.status_code == 400 and response.json()["code"] == "binding_no_match"


def test_binding_attempts_are_throttled_per_account(patient_api, hospital, mother, settings):
    for _ in range(10):
        assert patient_api.post(URL, details(mother, phone="13900000000"), format="json").status_code == 400
    response = patient_api.post(URL, details(mother), format="json")
    assert response.status_code == 429 and response.json()["code"] == "throttled"
    assert not Binding.objects.exists()
    other = signed_in(WechatAccount.objects.create(hospital=hospital, openid="openid-other"))
    assert other.post(URL, details(mother), format="json").status_code == 201


def test_hospital_identifying_by_medical_card_number(db):
    hospital = make_hospital("cardh", extra="binding:\n  identify_by: [name, medical_card_number]\n")
    patient = record(hospital, card="K123456")
    client = signed_in(WechatAccount.objects.create(hospital=hospital, openid="o1"))
    url = "/api/v1/cardh/patient/bindings/"

    missing = client.post(url, {"name": patient.name}, format="json")
    assert missing.status_code == 400 and set(missing.json()["fields"]) == {"medical_card_number"}
    assert client.post(url, {"name": patient.name, "medical_card_number": "K999999"}, format="json").status_code == 400
    ok = client.post(url, {"name": patient.name, "medical_card_number": "K123456"}, format="json")
    assert ok.status_code == 201


def test_hospital_that_lets_patients_register_creates_the_record(db):
    hospital = make_hospital("openh", extra="binding:\n  require_existing_record: false\n")
    client = signed_in(WechatAccount.objects.create(hospital=hospital, openid="o1"))
    number = id_number("19880808", 88)

    response = client.post("/api/v1/openh/patient/bindings/", {"name": "新病人", "id_number": number}, format="json")

    assert response.status_code == 201, response.json()
    created = PatientRecord.objects.get(hospital=hospital)
    assert (created.name, created.id_number, created.source) == ("新病人", number, PatientRecord.Source.PATIENT)
    assert created.medical_card_number.startswith("W")
    again = signed_in(WechatAccount.objects.create(hospital=hospital, openid="o2"))
    assert (
        again.post(
            "/api/v1/openh/patient/bindings/", {"name": "新病人", "id_number": number}, format="json"
        ).status_code
        == 201
    )
    assert PatientRecord.objects.filter(hospital=hospital).count() == 1  # matched, not registered twice


def test_id_numbers_are_encrypted_at_rest_and_matched_by_keyed_hash(mother):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, id_number_hash FROM patients_patientrecord WHERE id = %s", [mother.pk])
        stored, digest = cursor.fetchone()
    assert mother.id_number not in stored and mother.id_number[-6:] not in stored
    assert len(digest) == 64 and mother.id_number not in digest
    assert PatientRecord.objects.get(pk=mother.pk).id_number == mother.id_number


@pytest.mark.parametrize("bad", ["null,null", "abc", "1.5", "-1"])
def test_ids_that_are_not_numbers_are_a_404(patient_api, account, mother, bad):
    mine = patient_api.post(URL, details(mother), format="json").json()

    for response in (patient_api.delete(f"{URL}{bad}/"), patient_api.post(f"{URL}{bad}/switch/")):
        assert response.status_code == 404
        assert response.json() == {"code": "not_found", "message": "请求的内容不存在。", "fields": {}}
    assert list(Binding.objects.values_list("pk", flat=True)) == [mine["id"]]
    account.refresh_from_db()
    assert account.current_patient == mother

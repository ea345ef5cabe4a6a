"""Becoming a distributor: an SMS code (hashed, expiring, single-use, rate-limited per phone and per
address), the invite code as the config wants it, the agreement, and the review when it is on."""

from datetime import timedelta

import pytest
from django.utils import timezone

from hcm.distribution import verification
from hcm.distribution.models import Application, CommissionAccount, Distributor, VerificationCode
from hcm.lowcode.models import TransitionLog
from hcm.notifications.models import Notification
from tests.conftest import staff_client
from tests.distribution.conftest import API, STAFF, client_for, make_account, make_distributor

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = "13911112222"


@pytest.fixture
def applicant(hospital):
    return make_account(hospital, "oApplicant", name="周申请")


@pytest.fixture
def me(applicant):
    return client_for(applicant)


def ask_code(client, phone: str = PHONE, ip: str = "10.0.0.1"):
    return client.post(API + "sms-code/", {"phone": phone}, format="json", REMOTE_ADDR=ip)


def apply(client, code: str, **extra):
    body = {"name": "周申请", "phone": PHONE, "code": code, "agreement_accepted": True, **extra}
    return client.post(API + "application/", body, format="json")


def test_with_review_the_applicant_waits_then_the_finance_reviewer_approves(me, applicant, texts, finance):
    sent = ask_code(me)
    assert sent.status_code == 200 and sent.json() == {"expires_in": 300, "resend_after": 60}
    assert texts.sent[0]["template"] == "verification_code" and texts.sent[0]["phone"] == PHONE

    answer = apply(me, texts.last_code(PHONE))

    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert (body["is_distributor"], body["application"]["state"]) == (False, "pending")
    assert body["application"]["masked_phone"] == "139****2222"
    assert body["rules"] == {"review_applications": True, "invite_code_required": False}
    assert not Distributor.objects.exists()

    application = Application.objects.get()
    approved = staff_client(finance).post(
        f"{STAFF}distributor-applications/{application.pk}/approve/", {}, format="json"
    )

    assert approved.status_code == 200, approved.json()
    assert approved.json()["state"] == "approved"
    distributor = Distributor.objects.get()
    assert (distributor.account, distributor.name, distributor.phone) == (applicant, "周申请", PHONE)
    assert len(distributor.invite_code) == 8
    assert CommissionAccount.objects.get(distributor=distributor).balance == 0
    application.refresh_from_db()
    assert (application.reviewed_by, application.state) == (finance, "approved")
    assert list(
        TransitionLog.objects.filter(object_id=str(application.pk)).values_list("transition", "target_state")
    ) == [
        ("approve", "approved"),
        ("submit", "pending"),
    ]
    told = Notification.objects.get(event="distributor_review")
    assert (told.account, told.data["result"]) == (applicant, "已通过")
    assert me.get(API + "application/").json()["is_distributor"] is True


def test_a_rejected_application_keeps_the_reason_and_the_applicant_may_apply_again(me, applicant, texts, finance):
    ask_code(me)
    apply(me, texts.last_code(PHONE))
    application = Application.objects.get()

    rejected = staff_client(finance).post(
        f"{STAFF}distributor-applications/{application.pk}/reject/", {"reason": "资料不全"}, format="json"
    )

    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    status = me.get(API + "application/").json()
    assert (status["is_distributor"], status["application"]["state"]) == (False, "rejected")
    assert status["application"]["reject_reason"] == "资料不全"
    assert Notification.objects.get(event="distributor_review").data["reason"] == "资料不全"
    assert not Distributor.objects.exists()
    VerificationCode.objects.update(created_at=timezone.now() - timedelta(minutes=2))  # past the resend wait
    ask_code(me)
    assert apply(me, texts.last_code(PHONE)).json()["application"]["state"] == "pending"


def test_a_cashier_may_not_review_applications(me, texts, cashier):
    ask_code(me)
    apply(me, texts.last_code(PHONE))
    application = Application.objects.get()
    response = staff_client(cashier).post(
        f"{STAFF}distributor-applications/{application.pk}/approve/", {}, format="json"
    )
    assert response.status_code == 403
    application.refresh_from_db()
    assert application.state == "pending" and not Distributor.objects.exists()


@pytest.mark.parametrize("rules", [{"review_applications": "false"}])
def test_without_review_the_applicant_is_a_distributor_at_once(me, applicant, texts):
    ask_code(me)
    answer = apply(me, texts.last_code(PHONE))

    assert answer.status_code == 201
    assert (answer.json()["is_distributor"], answer.json()["application"]["state"]) == (True, "approved")
    distributor = Distributor.objects.get(account=applicant)
    assert distributor.application.state == "approved"
    log = TransitionLog.objects.get(content_type__model="application", object_id=str(distributor.application.pk))
    assert log.target_state == "approved"
    assert not Notification.objects.filter(event="distributor_review").exists()
    centre = me.get(API)
    assert centre.status_code == 200 and centre.json()["distributor"]["invite_code"] == distributor.invite_code


def test_a_wrong_code_is_refused_and_writes_nothing(me, texts):
    ask_code(me)
    right = texts.last_code(PHONE)
    wrong = "000000" if right != "000000" else "111111"

    answer = apply(me, wrong)

    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_sms_code" and "code" in answer.json()["fields"]
    assert not Application.objects.exists()
    assert VerificationCode.objects.get().attempts == 1  # counted although the request failed
    assert apply(me, right).status_code == 201  # the right one still works


def test_an_expired_code_is_refused(me, texts):
    ask_code(me)
    VerificationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    answer = apply(me, texts.last_code(PHONE))
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_sms_code"
    assert not Application.objects.exists()


def test_a_code_is_used_once(me, applicant, texts, hospital):
    ask_code(me)
    code = texts.last_code(PHONE)
    assert apply(me, code).status_code == 201
    Application.objects.all().delete()  # as if the applicant tried to reuse the code elsewhere
    other = client_for(make_account(hospital, "oOther"))
    answer = apply(other, code)
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_sms_code"


def test_five_wrong_guesses_void_the_code(me, texts):
    ask_code(me)
    right = texts.last_code(PHONE)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(verification.MAX_WRONG_ATTEMPTS):
        assert apply(me, wrong).status_code == 400
    assert apply(me, right).json()["code"] == "invalid_sms_code"
    assert not Application.objects.exists()


def test_codes_are_stored_as_keyed_digests(me, texts):
    ask_code(me)
    record = VerificationCode.objects.get()
    code = texts.last_code(PHONE)
    assert len(record.digest) == 64 and code not in record.digest
    assert (record.phone, record.ip_address, record.purpose) == (PHONE, "10.0.0.1", "apply")


def test_codes_are_rate_limited_per_phone(me, texts):
    assert ask_code(me).status_code == 200
    again = ask_code(me)
    assert again.status_code == 429 and again.json()["code"] == "sms_rate_limited"
    for _ in range(verification.PER_PHONE_PER_HOUR - 1):
        VerificationCode.objects.update(created_at=timezone.now() - timedelta(minutes=2))
        assert ask_code(me).status_code == 200
    VerificationCode.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    assert ask_code(me).status_code == 429  # the sixth within the hour
    VerificationCode.objects.update(created_at=timezone.now() - timedelta(minutes=61))
    assert ask_code(me).status_code == 200  # an hour later
    assert len(texts.sent) == verification.PER_PHONE_PER_HOUR + 1


def test_codes_are_rate_limited_per_address(me, texts, settings):
    settings.HCM_RATES = {**settings.HCM_RATES, "sms_code": {}}  # the texts sent, apart from the request limits
    for n in range(verification.PER_IP_PER_HOUR):
        assert ask_code(me, phone=f"1390000{n:04d}").status_code == 200
    refused = ask_code(me, phone="13988889999")
    assert refused.status_code == 429 and refused.json()["code"] == "sms_rate_limited"
    assert ask_code(me, phone="13988889999", ip="10.0.0.2").status_code == 200  # another address
    assert len(texts.sent) == verification.PER_IP_PER_HOUR + 1


def test_a_malformed_phone_is_refused_before_any_text(me, texts):
    answer = ask_code(me, phone="12345")
    assert answer.status_code == 400 and "phone" in answer.json()["fields"]
    assert texts.sent == [] and not VerificationCode.objects.exists()


@pytest.mark.parametrize("rules", [{"invite_code_required": "true"}])
def test_the_invite_code_is_required_where_the_config_says_so(me, texts, hospital):
    inviter = make_distributor(make_account(hospital, "oInviter"))
    ask_code(me)
    code = texts.last_code(PHONE)

    missing = apply(me, code)
    unknown = apply(me, code, invite_code="NOPE1234")
    right = apply(me, code, invite_code=inviter.invite_code.lower())  # typed in lower case

    assert (missing.status_code, missing.json()["code"]) == (400, "invite_code_required")
    assert "invite_code" in missing.json()["fields"]
    assert (unknown.status_code, unknown.json()["code"]) == (400, "invalid_invite_code")
    assert right.status_code == 201
    assert Application.objects.get(account__openid="oApplicant").inviter == inviter


def test_the_agreement_must_be_accepted(me, texts):
    ask_code(me)
    answer = apply(me, texts.last_code(PHONE), agreement_accepted=False)
    assert answer.status_code == 400 and answer.json()["code"] == "agreement_required"
    assert not Application.objects.exists()
    assert VerificationCode.objects.get().used_at is None  # the code is kept for the next try


def test_one_open_application_at_a_time_and_none_for_a_distributor(me, texts, applicant):
    ask_code(me)
    apply(me, texts.last_code(PHONE))
    VerificationCode.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    ask_code(me)
    second = apply(me, texts.last_code(PHONE))
    assert second.status_code == 409 and second.json()["code"] == "application_pending"
    assert Application.objects.count() == 1


def test_a_distributor_cannot_apply_again(hospital, texts):
    account = make_account(hospital, "oAlready")
    make_distributor(account)
    client = client_for(account)
    ask_code(client)
    answer = apply(client, texts.last_code(PHONE))
    assert answer.status_code == 409 and answer.json()["code"] == "already_distributor"


@pytest.mark.parametrize("rules", [{}])
def test_a_hospital_that_sends_no_texts_says_so(me, hospital, texts):
    from hcm.hospitals.config import parse_config
    from hcm.hospitals.services import hospital_config_update
    from tests.conftest import ALL_FEATURES
    from tests.distribution.conftest import hospital_yaml

    text = f"code: dist\nname: 分销医院\nfeatures: {ALL_FEATURES}\n" + hospital_yaml().replace(
        "provider: console", "provider: none"
    )
    hospital_config_update(hospital=hospital, config=parse_config(text, filename="dist.yaml"), author=None)

    answer = ask_code(me)

    assert answer.status_code == 409 and answer.json()["code"] == "sms_unavailable"
    assert texts.sent == [] and not VerificationCode.objects.exists()

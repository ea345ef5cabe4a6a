"""The staff API shows patients masked, like the admin lists."""

from hcm.hospitals.roles import Role
from tests.conftest import make_operator, staff_client
from tests.patients.conftest import bind


def test_staff_api_masks_patient_records_and_bindings(hospital, account, mother):
    bind(account, mother)
    client = staff_client(make_operator("service_hospa", hospital=hospital, role=Role.CUSTOMER_SERVICE))

    records = client.get("/api/v1/hospa/staff/patientrecords/").json()["results"]
    bindings = client.get("/api/v1/hospa/staff/bindings/").json()["results"]

    assert records == [
        {
            "id": mother.pk,
            "medical_card_number": "M0001",
            "masked_name": "尤**",
            "gender": "unknown",
            "gender_label": "未知",
            "birth_date": None,
            "masked_id_number": mother.id_number[:4] + "****" + mother.id_number[-4:],
            "masked_phone": "138****5678",
            "source": "hospital",
            "source_label": "医院建档",
            "created_at": records[0]["created_at"],
        }
    ]
    assert [(b["account"], b["patient"], b["patient_medical_card_number"]) for b in bindings] == [
        (account.pk, mother.pk, "M0001")
    ]
    assert mother.id_number not in str(records) + str(bindings)

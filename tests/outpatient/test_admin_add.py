"""Outpatient payments are made by patients paying (the service): the admin never offers to add one."""

import pytest
from django.test import Client
from django.urls import reverse

from hcm.outpatient.models import OutpatientPayment

pytestmark = pytest.mark.django_db


def test_no_add_button_and_adding_is_refused_for_every_operator(hospital_a, platform_admin, admin_a):
    for user in (platform_admin, admin_a):
        client = Client()
        client.force_login(user)
        listing = client.get(reverse("admin:outpatient_outpatientpayment_changelist")).content.decode()
        add = reverse("admin:outpatient_outpatientpayment_add")
        assert add not in listing
        assert client.get(add).status_code == 403
        assert client.post(add, {"hospital": hospital_a.pk, "patient_name": "尤小明"}).status_code == 403
    assert OutpatientPayment.objects.count() == 0

"""Reports in the admin: read-only lists with filters, search by report number or medical card,
no PDF link (it has no address), and the roles that may see them."""

import pytest
from django.test import Client
from django.urls import reverse

from hcm.hospitals.roles import Role
from hcm.reports import services
from hcm.reports.models import CheckupReport, ExamResult
from tests.conftest import make_operator

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stored(hospital, patient, relative, account):
    services.reports_fetch(hospital=hospital, patient=patient)
    services.reports_fetch(hospital=hospital, patient=relative)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def shown(client, model, **query) -> list[str]:
    response = client.get(reverse(f"admin:reports_{model._meta.model_name}_changelist"), query)
    assert response.status_code == 200
    return sorted(row.number for row in response.context["cl"].result_list)


def test_operators_find_reports_by_number_or_medical_card(hospital, stored):
    client = signed_in(make_operator("admin_rpt", hospital=hospital))

    assert shown(client, CheckupReport) == ["TJ0", "TJ1", "TJ21"]
    assert shown(client, CheckupReport, q="TJ21") == ["TJ21"]
    assert shown(client, ExamResult, q="M1") == ["JY1", "JY2"]
    assert shown(client, CheckupReport, has_pdf__exact="0") == ["TJ0"]


def test_reports_are_read_only_and_show_no_pdf_address(hospital, stored):
    client = signed_in(make_operator("admin_rpt", hospital=hospital))
    report = CheckupReport.objects.get(number="TJ1")

    page = client.get(reverse("admin:reports_checkupreport_change", args=[report.pk]))

    assert page.status_code == 200
    assert "轻度脂肪肝" in page.content.decode() and "/media/" not in page.content.decode()
    assert client.get(reverse("admin:reports_checkupreport_add")).status_code == 403
    client.post(reverse("admin:reports_checkupreport_delete", args=[report.pk]), {"post": "yes"})
    assert CheckupReport.objects.filter(pk=report.pk).exists()


def test_customer_service_reads_reports_and_cashiers_do_not(hospital, stored):
    service = signed_in(make_operator("service_rpt", hospital=hospital, role=Role.CUSTOMER_SERVICE))
    cashier = signed_in(make_operator("cashier_rpt", hospital=hospital, role=Role.CASHIER))

    assert shown(service, ExamResult) == ["JY1", "JY2", "JY21"]
    assert cashier.get(reverse("admin:reports_examresult_changelist")).status_code == 403

"""What a demo patient and the hospital's operators do in a first week, through the API, so that
lists and details have rows in every state worth describing: a cart, unpaid, paid, refunding and
refunded orders, expert and checkup bookings, a paid prescription, a distributor with a withdrawal."""

from decimal import Decimal

from django.core.management import call_command
from django.utils.timezone import now
from rest_framework.test import APIClient

from hcm.distribution import services as distribution
from hcm.distribution.models import Application, CommissionAccount, CommissionEntry, Distributor
from hcm.lowcode.transitions import transition_apply
from hcm.patients.models import WechatAccount

CARD_PASSWORD = "123456"  # fixtures/ptdemo/cards.csv


class Journey:
    def __init__(self, code: str, *, patient_token: str, staff_token: str):
        self.code = code
        self.patient = APIClient()
        self.patient.credentials(HTTP_AUTHORIZATION=f"Bearer {patient_token}")
        self.staff = APIClient()
        self.staff.credentials(HTTP_AUTHORIZATION=f"Token {staff_token}")

    def call(self, client: APIClient, method: str, path: str, body: dict | None = None, *, expect=(200, 201)):
        answer = getattr(client, method)(f"/api/v1/{self.code}/{path}", body, format="json")
        assert answer.status_code in expect, (method, path, answer.status_code, answer.content[:500])
        return answer.json() if answer.content else None

    def products(self) -> list[dict]:
        """The cheapest first: the demo card holds 2,000 yuan."""
        rows = self.call(APIClient(), "get", "public/products/")["results"]
        return sorted(rows, key=lambda row: Decimal(row["price"]))

    def order(self, product: dict) -> dict:
        return self.call(self.patient, "post", "patient/checkout/", {"items": [{"product": product["id"]}]})

    def shop(self) -> None:
        first, second, third, fourth = self.products()[:4]
        self.call(self.patient, "post", "patient/cart/", {"product": first["id"], "quantity": 2})
        self.order(first)  # left unpaid
        paid, refunding, refunded = self.order(second), self.order(third), self.order(fourth)
        for order in (paid, refunding, refunded):
            self.pay(order)
        for order in (refunding, refunded):
            self.call(self.patient, "post", f"patient/orders/{order['id']}/request_refund/", {"reason": "改期"})
        self.call(self.staff, "post", f"staff/orders/{refunded['id']}/approve_refund/", {})
        self.book_checkup(paid)

    def pay(self, order: dict) -> None:
        if self.code == "ptdemo":
            body = {"method": "balance", "password": CARD_PASSWORD}
            self.call(self.patient, "post", f"patient/orders/{order['id']}/pay/", body)
            return
        answer = self.call(self.patient, "post", f"patient/orders/{order['id']}/pay/", {"method": "wechat"})
        trade = answer["payment"]["out_trade_no"]
        self.call(self.patient, "post", "payments/sandbox/pay/", {"out_trade_no": trade})

    def book_checkup(self, order: dict) -> None:
        days = self.call(APIClient(), "get", "public/appointments/checkup-days/")
        body = {"day": days[0]["id"], "order": order["id"]}
        self.call(self.patient, "post", "patient/appointments/checkup/", body)

    def book_expert(self) -> None:
        call_command("sync_schedules", hospital=self.code, stdout=open("/dev/null", "w"))  # noqa: SIM115
        for doctor in self.call(APIClient(), "get", "public/doctors/")["results"]:
            schedule = self.call(APIClient(), "get", f"public/doctors/{doctor['id']}/schedule/")
            slots = [slot for day in schedule["days"] for slot in day["slots"] if slot["available"]]
            if slots:
                self.call(self.patient, "post", "patient/appointments/expert/", {"slot": slots[0]["id"]})
                return
        raise AssertionError(f"{self.code}: no doctor has a free slot after syncing the HIS")

    def pay_a_prescription(self) -> None:
        bills = self.call(self.patient, "get", "patient/outpatient/unpaid/")["bills"]
        body = {"numbers": [bills[0]["number"]], "method": "balance", "password": CARD_PASSWORD}
        if self.code != "ptdemo":
            body = {"numbers": [bills[0]["number"]], "method": "wechat"}
        self.call(self.patient, "post", "patient/outpatient/pay/", body)

    def distribute(self) -> None:
        """Apply (the SMS check skipped), be approved by the operator, earn a commission and ask to
        withdraw part of it."""
        account = WechatAccount.objects.get(hospital__code=self.code, openid=f"demo-{self.code}")
        application = Application.objects.create(
            hospital=account.hospital, account=account, name="尤小明", phone="13805941257", agreement_accepted_at=now()
        )
        transition_apply(obj=application, name="submit", actor=account)
        self.call(self.staff, "post", f"staff/distributor-applications/{application.pk}/approve/", {})
        distributor = Distributor.objects.get(hospital__code=self.code)
        account = CommissionAccount.objects.get(distributor=distributor)
        kind = CommissionEntry.Kind.COMMISSION
        distribution.book(account=account, signed=Decimal("300.00"), kind=kind, reference="fuzz:opening")
        self.call(self.patient, "post", "patient/distribution/withdrawals/", {"amount": "100.00"})


def walk_through(code: str, *, patient_token: str, staff_token: str) -> None:
    journey = Journey(code, patient_token=patient_token, staff_token=staff_token)
    journey.shop()
    journey.book_expert()
    journey.pay_a_prescription()
    if code == "ptdemo":  # xmchild has no distribution
        journey.distribute()

"""Who an order is credited to: an invited member to their inviter (first invitation kept), an
order placed through a product share to the sharer; links and QR codes carry the invite code."""

import pytest

from hcm.distribution.models import Distributor, OrderAttribution, Referral
from hcm.mall.models import Order
from tests.distribution.conftest import API, buy, client_for, make_account, make_distributor

pytestmark = pytest.mark.django_db(transaction=True)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def follow_invitation(account, code: str):
    return client_for(account).post(API + "referral/", {"invite_code": code}, format="json")


def test_an_invited_member_is_attributed_to_the_inviter_and_the_first_invitation_is_kept(
    hospital, seller, leader, buyer, package
):
    first = follow_invitation(buyer, seller.invite_code)
    second = follow_invitation(buyer, leader.invite_code)

    assert first.status_code == 200 and first.json() == {"attributed": True, "distributor": "王**"}
    assert second.json() == {"attributed": True, "distributor": "王**"}  # still the first inviter
    assert Referral.objects.get(account=buyer).distributor == seller

    order = buy(buyer, package)

    attribution = OrderAttribution.objects.get(order=order)
    assert (attribution.distributor, attribution.source) == (seller, "invite")


def test_an_order_placed_through_a_share_link_is_attributed_to_the_sharer(hospital, seller, leader, buyer, package):
    follow_invitation(buyer, leader.invite_code)  # invited by the leader, buys through the seller's share

    response = client_for(buyer).post(
        "/api/v1/dist/patient/checkout/",
        {"items": [{"product": package.pk}], "share_code": seller.invite_code},
        format="json",
    )

    assert response.status_code == 201, response.json()
    attribution = OrderAttribution.objects.get(order_id=response.json()["id"])
    assert (attribution.distributor, attribution.source) == (seller, "share")
    assert not hasattr(Order, "share_code")  # the mall keeps no distribution data


def test_an_unknown_share_code_is_ignored_and_nobody_earns_from_their_own_purchases(hospital, seller, buyer, package):
    stranger = buy(buyer, package, share_code="NOSUCH12", pay=False)
    own = buy(seller.account, package, share_code=seller.invite_code, pay=False)

    assert not OrderAttribution.objects.filter(order__in=[stranger, own]).exists()
    assert follow_invitation(seller.account, seller.invite_code).json() == {"attributed": False, "distributor": ""}
    assert not Referral.objects.exists()


def test_an_unknown_invite_code_is_refused(buyer, hospital):
    response = follow_invitation(buyer, "NOSUCH12")
    assert response.status_code == 400 and response.json()["code"] == "invalid_invite_code"
    assert not Referral.objects.exists()


def test_an_order_without_share_or_invitation_is_nobodys(buyer, package, seller):
    order = buy(buyer, package)
    assert not OrderAttribution.objects.filter(order=order).exists()


def test_a_distributor_invited_by_another_has_them_as_inviter(hospital, leader):
    invited = make_distributor(make_account(hospital, "oInvited"), inviter=leader)
    assert invited.inviter == leader
    assert list(leader.invitees.all()) == [invited]


def test_an_invited_member_who_applies_without_a_code_gets_their_inviter(hospital, seller, texts):
    member = make_account(hospital, "oMember")
    follow_invitation(member, seller.invite_code)
    client = client_for(member)
    client.post(API + "sms-code/", {"phone": "13955556666"}, format="json")
    answer = client.post(
        API + "application/",
        {"name": "孙成员", "phone": "13955556666", "code": texts.last_code("13955556666"), "agreement_accepted": True},
        format="json",
    )
    assert answer.status_code == 201
    assert member.distributor_applications.get().inviter == seller


def test_the_centre_gives_invitation_links_and_their_qr_codes(hospital, seller, api):
    centre = client_for(seller.account).get(API).json()

    member, distributor = centre["invite_member"], centre["invite_distributor"]
    assert member["url"] == f"https://h5.example.com/dist/?page=home&invite={seller.invite_code}"
    assert distributor["url"] == f"https://h5.example.com/dist/?page=distributor-apply&invite={seller.invite_code}"
    assert member["qr"].endswith(f"/api/v1/dist/public/distribution/{seller.invite_code}/qr/member.png")
    assert member["message"] and distributor["message"]
    png = api.get(member["qr"])
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert png.content.startswith(PNG_MAGIC)
    assert api.get(distributor["qr"]).content.startswith(PNG_MAGIC)


def test_qr_codes_of_unknown_codes_targets_or_products_are_404(hospital, seller, api, eye_test):
    base = f"/api/v1/dist/public/distribution/{seller.invite_code}/"
    assert api.get("/api/v1/dist/public/distribution/NOSUCH12/qr/member.png").status_code == 404
    assert api.get(base + "qr/everyone.png").status_code == 404
    assert api.get(base + "products/999999/qr.png").status_code == 404
    assert api.get(base + f"products/{eye_test.pk}/qr.png").status_code == 200


def test_a_product_share_carries_the_code_and_its_qr(hospital, seller, package, eye_test, api):
    me = client_for(seller.account)

    share = me.get(API + f"products/{package.pk}/share/").json()
    ineligible = me.get(API + f"products/{eye_test.pk}/share/").json()

    assert share["link"]["url"] == (
        f"https://h5.example.com/dist/?page=product&product={package.pk}&share={seller.invite_code}"
    )
    assert (share["price"], share["commission_eligible"], share["estimated_commission"]) == ("299.00", True, "29.90")
    assert (ineligible["commission_eligible"], ineligible["estimated_commission"]) == (False, "0.00")
    assert api.get(share["link"]["qr"]).content.startswith(PNG_MAGIC)
    assert me.get(API + "products/999999/share/").status_code == 404


def test_only_distributors_share(buyer, package):
    response = client_for(buyer).get(API + f"products/{package.pk}/share/")
    assert response.status_code == 409 and response.json()["code"] == "not_distributor"
    assert not Distributor.objects.filter(account=buyer).exists()

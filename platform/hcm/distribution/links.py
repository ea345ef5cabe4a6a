"""Invitation and share links, and their QR codes drawn locally (segno, no network).

A link opens the patient app (settings.HCM_PATIENT_APP_URL, `{hospital}` replaced by the
hospital's code) with the distributor's code in the query: `invite=` for an invitation (the app
then calls POST distribution/referral/ for a member, or pre-fills the application form),
`share=` on a product page (the app passes it to checkout as `share_code`).
"""

import io
from urllib.parse import urlencode

import segno
from django.conf import settings

from hcm.distribution.models import Distributor

INVITE_DISTRIBUTOR = "distributor"
INVITE_MEMBER = "member"
INVITE_TARGETS = (INVITE_DISTRIBUTOR, INVITE_MEMBER)


def _app_url(hospital_code: str, query: dict) -> str:
    base = settings.HCM_PATIENT_APP_URL.format(hospital=hospital_code)
    return f"{base}{'&' if '?' in base else '?'}{urlencode(query)}"


def invite_link(distributor: Distributor, target: str) -> str:
    """The link that invites someone to become a distributor (`distributor`) or a member (`member`)."""
    page = "distributor-apply" if target == INVITE_DISTRIBUTOR else "home"
    return _app_url(distributor.hospital.code, {"page": page, "invite": distributor.invite_code})


def share_link(distributor: Distributor, product_id: int) -> str:
    """The link to a product page that credits orders placed from it to `distributor`."""
    return _app_url(
        distributor.hospital.code, {"page": "product", "product": product_id, "share": distributor.invite_code}
    )


def qr_png(text: str, *, scale: int = 8) -> bytes:
    """A PNG QR code of `text` (error correction M, quiet zone of 2 modules)."""
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()

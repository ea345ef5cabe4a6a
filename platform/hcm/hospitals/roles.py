"""Operator roles and the model permissions each one grants.

Grants are by app label so that apps added later are covered without touching this file;
an "app_label.model" key overrides its app's grant for that one model. `"*"` grants every
permission (including custom ones such as transitions), a tuple the listed actions only.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

ALL = "*"
READ = ("view",)
WRITE = ("view", "add", "change")


class Role(models.TextChoices):
    PLATFORM_ADMIN = "platform_admin", _("Platform admin")
    HOSPITAL_ADMIN = "hospital_admin", _("Hospital admin")
    CASHIER = "cashier", _("Cashier")
    FINANCE = "finance", _("Finance")
    CONTENT_EDITOR = "content_editor", _("Content editor")
    CUSTOMER_SERVICE = "customer_service", _("Customer service")


ROLE_GRANTS: dict[str, dict[str, str | tuple[str, ...]]] = {
    Role.HOSPITAL_ADMIN: {
        "hospitals": READ,
        "hospitals.hospital": ("view", "change"),  # the configuration editor
        "lowcode": READ,
        "content": ALL,
        "patients": ALL,
        "wallet": ALL,
        "catalog": ALL,
        "mall": ALL,
        "payments": ALL,
        "appointments": ALL,
        "outpatient": ALL,
        "reports": ALL,
        "distribution": ALL,
        "notifications": READ,
    },
    Role.CASHIER: {
        "patients": READ,
        "wallet": WRITE,
        "mall": WRITE,
        "payments": WRITE,
        "outpatient": WRITE,  # confirms outpatient payments taken at the counter
    },
    Role.FINANCE: {
        "wallet": READ,
        "mall": READ,
        "payments": ALL,
        "outpatient": ALL,
        "distribution": ALL,
        "lowcode": READ,
    },
    Role.CONTENT_EDITOR: {
        "content": ALL,
        "catalog": ALL,
        "lowcode": READ,
    },
    Role.CUSTOMER_SERVICE: {
        "patients": WRITE,
        "mall": READ,
        "appointments": WRITE,
        "outpatient": READ,
        "reports": READ,
        "notifications": READ,
    },
}


def role_grants(role: str) -> dict[str, str | tuple[str, ...]]:
    """The grants of a role, plus any a deployment adds in settings.HCM_EXTRA_ROLE_GRANTS."""
    from django.conf import settings

    extra = getattr(settings, "HCM_EXTRA_ROLE_GRANTS", {}).get(str(role), {})
    return {**ROLE_GRANTS.get(role, {}), **extra}

"""Test settings: the project's settings in development mode, plus a test-only app that
exercises the low-code engine's patient scope (the real patient sign-in comes later)."""

import os

os.environ.setdefault("DEBUG", "1")

from hcm.settings import *  # noqa: F403
from hcm.settings import INSTALLED_APPS, Q_CLUSTER, SPECTACULAR_SETTINGS, VAR_DIR

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
HCM_NOTIFICATION_BACKEND = "locmem"
MEDIA_ROOT = VAR_DIR / "test-media"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
HCM_EXTRA_ROLE_GRANTS = {"hospital_admin": {"testapp": "*"}, "customer_service": {"testapp": ("view",)}}
SPECTACULAR_SETTINGS = {
    **SPECTACULAR_SETTINGS,
    "ENUM_NAME_OVERRIDES": {
        **SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"],
        "NoteStateEnum": "tests.testapp.models.NOTE_STATES",
    },
}
# tests/fuzz: examples schemathesis generates per API operation and hospital, and whether its
# coverage phase runs too (boundary values, wrong types, unexpected methods; several times longer).
HCM_FUZZ_MAX_EXAMPLES = int(os.environ.get("HCM_FUZZ_MAX_EXAMPLES", "10"))
HCM_FUZZ_COVERAGE = os.environ.get("HCM_FUZZ_COVERAGE", "") == "1"

"""Settings for every environment: development defaults only while DEBUG is on.

Production sets DEBUG=0, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and REDIS_URL (or
HCM_DATABASE_CACHE=1), see README, "Operations".
"""

import base64
import hashlib
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from hcm.env import env_bool, env_list, env_networks, env_rates, env_required, env_str

SOURCE_ROOT = Path(__file__).resolve().parent.parent  # platform/
BASE_DIR = SOURCE_ROOT.parent  # the repository
VAR_DIR = Path(env_str("HCM_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-never-in-production") if DEBUG else env_required("SECRET_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "unfold.contrib.import_export",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "import_export",
    "django_q",
    "hcm.lowcode",
    "hcm.hospitals",
    "hcm.patients",
    "hcm.content",
    "hcm.wallet",
    "hcm.catalog",
    "hcm.notifications",
    "hcm.payments",
    "hcm.mall",
    "hcm.outpatient",
    "hcm.appointments",
    "hcm.his",
    "hcm.reports",
    "hcm.distribution",
]
INSTALLED_APPS += env_list("HCM_EXTRA_APPS")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "hcm.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "hcm.urls"
WSGI_APPLICATION = "hcm.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: SQLite by default (WAL, IMMEDIATE, busy timeout); DATABASE_URL for PostgreSQL.
_SQLITE_PATH = VAR_DIR / "hcm.sqlite3"
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _SQLITE_PATH,
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and task queue: Redis with REDIS_URL; else the ORM broker and, for the cache, a table
# of the database (HCM_DATABASE_CACHE=1, after `manage.py createcachetable`) or, in development
# only, each process's memory. Abuse limits count in the cache, so production refuses to start
# without one that every process shares.
REDIS_URL = env_str("REDIS_URL")
HCM_DATABASE_CACHE = env_bool("HCM_DATABASE_CACHE", default=False)
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
elif HCM_DATABASE_CACHE:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "hcm_cache"}}
elif DEBUG:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(
        "With DEBUG off, set REDIS_URL (or HCM_DATABASE_CACHE=1 and run `manage.py createcachetable`): "
        "rate limits and caches must be shared by every process."
    )

Q_CLUSTER = {
    "name": "hcm",
    "workers": int(env_str("Q_WORKERS", "2")),
    "timeout": 60,
    "retry": 120,  # must stay greater than timeout
    "max_attempts": 5,
    "queue_limit": 50,
    "catch_up": False,
    "label": _("Task queue"),
    "sync": env_bool("Q_SYNC", default=False),
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "hcm.hospitals.backends.RoleBackend",
]

# --- Language and time: Simplified Chinese by default, English available.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "platform" / "hcm" / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# WhiteNoise serves static files (admin, Swagger UI) from the app processes; in development
# straight from the apps, in production from STATIC_ROOT after `collectstatic`.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
# Files only authorised views may serve (report PDFs): never under MEDIA_ROOT, never given a URL.
HCM_PRIVATE_FILES_DIR = Path(env_str("HCM_PRIVATE_FILES_DIR", str(VAR_DIR / "private")))

# --- Security: strict when DEBUG is off; `manage.py check --deploy` is clean with production variables.
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(env_str("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp) of every response: only this origin's scripts, never an
# inline one, no CDN. Inline styles stay allowed: unfold and Swagger UI write <style> blocks and
# style attributes. The admin alone adds 'unsafe-eval' (see hcm.csp: unfold's Alpine.js).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],  # icons inlined in unfold's and Swagger UI's stylesheets
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["hcm.hospitals.authentication.StaffTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "hcm.lowcode.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "hcm.lowcode.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON bodies are objects of sane depth, refused with a 400 before they are parsed otherwise.
    "DEFAULT_PARSER_CLASSES": [
        "hcm.lowcode.parsers.JSONObjectParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": None,
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

# Abuse limits (hcm.lowcode.throttling): each operation counts a request per signed-in account,
# per client address and per target, and refuses it when any count is over its rate. Every rate
# can be set as HCM_RATE_<SCOPE>_<KEY>, e.g. HCM_RATE_BINDING_ACCOUNT=5/hour. Many patients may
# share one address (hospital Wi-Fi, mobile carriers' NAT), so address rates are the loosest.
HCM_RATES = env_rates(
    {
        "staff_sign_in": {"username": "10/min", "address": "30/min"},
        "patient_sign_in": {"openid": "30/min", "address": "60/min"},
        "binding": {
            "account": "10/hour",
            "id_number": "20/hour",
            "medical_card_number": "20/hour",
            "phone": "20/hour",
            "address": "100/hour",
        },
        "payment_password": {"account": "20/hour", "address": "200/hour"},
        "outpatient_code": {"account": "20/hour", "pay_code": "10/hour", "address": "100/hour"},
        "sms_code": {"account": "10/hour", "address": "60/hour"},
    }
)
# X-Forwarded-For is read only from these proxies (addresses or networks, e.g. the load
# balancer's 10.0.0.0/8); otherwise the client's address is the socket's and the header ignored.
HCM_TRUSTED_PROXIES = env_networks("HCM_TRUSTED_PROXIES")

# Authentication of each generated API scope (public has none). Patients sign in through
# WeChat (or the sandbox sign-in of a demo hospital) and send `Authorization: Bearer <key>`;
# operators send `Authorization: Token <key>` (POST /api/v1/staff/token/) or their admin session.
HCM_API_AUTHENTICATION = {
    "staff": [
        "hcm.hospitals.authentication.StaffTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "patient": ["hcm.patients.authentication.PatientTokenAuthentication"],
}
# Called after a hospital's configuration changed (and was committed), to keep things in step.
HCM_CONFIG_APPLIED = [
    "hcm.outpatient.tasks.ensure_schedules",
    "hcm.reports.tasks.ensure_schedules",
    "hcm.appointments.tasks.ensure_schedules",
]
# Told what happens to a mall order (created, paid, completed, refunded), inside its transaction:
# `fn(*, event, order, **details)`. The mall knows no app above it; distribution credits commissions.
HCM_ORDER_LISTENERS = ["hcm.distribution.services.order_event"]
# Where invitation and share links open the patient app (`{hospital}` is the hospital's code).
HCM_PATIENT_APP_URL = env_str("HCM_PATIENT_APP_URL", "https://h5.example.com/{hospital}/")
# Transitions marked `idempotent` (patient scope) honour an Idempotency-Key header through this decorator.
HCM_IDEMPOTENCY = "hcm.payments.idempotency.idempotent"
# Sandbox hospitals (`integrations.wechat.sandbox: true`) let anyone sign in as any openid and
# accept WeChat Pay notifications signed with a key in the source code: demo only. With DEBUG
# off they are refused (onboarding, and their sandbox endpoints) unless this says otherwise.
HCM_ALLOW_SANDBOX_HOSPITALS = env_bool("HCM_ALLOW_SANDBOX_HOSPITALS", default=DEBUG)
HCM_PATIENT_TOKEN_TTL = int(env_str("HCM_PATIENT_TOKEN_TTL", str(30 * 86400)))  # seconds
# Staff API tokens (django-rest-knox): only their SHA-512 digest is stored, each expires
# HCM_STAFF_TOKEN_TTL seconds after sign-in (a working day by default) and sign-out revokes it.
HCM_STAFF_TOKEN_TTL = int(env_str("HCM_STAFF_TOKEN_TTL", str(10 * 3600)))
REST_KNOX = {
    "TOKEN_TTL": timedelta(seconds=HCM_STAFF_TOKEN_TTL),
    "AUTH_HEADER_PREFIX": "Token",
    "SECURE_HASH_ALGORITHM": "hashlib.sha512",
    "AUTO_REFRESH": False,  # a stolen token dies at its expiry however much it is used
    "TOKEN_LIMIT_PER_USER": None,
}

# Identity numbers are encrypted with HCM_FIELD_KEYS (comma-separated Fernet keys, newest
# first) and matched through an HMAC keyed with HCM_LOOKUP_KEY. Both are required in
# production and must never change (add a key in front to rotate encryption); development
# derives them from SECRET_KEY.
HCM_FIELD_KEYS = env_list("HCM_FIELD_KEYS") or (
    [base64.urlsafe_b64encode(hashlib.sha256(f"fields:{SECRET_KEY}".encode()).digest()).decode()]
    if DEBUG
    else [env_required("HCM_FIELD_KEYS")]
)
HCM_LOOKUP_KEY = env_str("HCM_LOOKUP_KEY") or (
    hashlib.sha256(f"lookup:{SECRET_KEY}".encode()).hexdigest() if DEBUG else env_required("HCM_LOOKUP_KEY")
)

SPECTACULAR_SETTINGS = {
    "TITLE": "Hospital customer platform API",
    "DESCRIPTION": (
        "Generated REST endpoints per hospital under /api/v1/<hospital>/: `public/` (no sign-in), "
        "`patient/` (the signed-in patient's own rows) and `staff/` (operator token). "
        "Errors always have the shape {code, message, fields}."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    # No badge fetched from swagger.io: the docs page loads nothing from another origin.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "hcm.lowcode.openapi.times_of_day"],
    "ENUM_NAME_OVERRIDES": {
        "PageKindEnum": "hcm.content.models.Page.Kind",
        "ArticleKindEnum": "hcm.content.models.Article.Kind",
        "PublishStateEnum": "hcm.content.models.PublishState",
        "LedgerEntryKindEnum": "hcm.wallet.models.LedgerEntry.Kind",
        "RechargeStateEnum": "hcm.wallet.models.RechargeState",
        "PrescriptionKindEnum": "hcm.his.contract.PrescriptionKind",
        "OutpatientStateEnum": "hcm.outpatient.models.OutpatientState",
        "OutpatientPaymentMethodEnum": "hcm.outpatient.models.PAYMENT_METHODS",
        "OutpatientLineStateEnum": "hcm.outpatient.models.LineState",
        "BookingStateEnum": "hcm.appointments.models.BookingState",
        "BookingKindEnum": "hcm.appointments.models.BookingKind",
        "SessionEnum": "hcm.appointments.models.Session",
        "GenderEnum": "hcm.patients.models.Gender",
        "ProductKindEnum": "hcm.catalog.models.Product.Kind",
        "ProductGenderEnum": "hcm.catalog.models.Product.Gender",
        "OrderStateEnum": "hcm.mall.models.OrderState",
        "PaymentStateEnum": "hcm.payments.models.PaymentState",
        "RefundStateEnum": "hcm.payments.models.RefundState",
        "PaymentMethodEnum": "hcm.payments.models.Method",
        "NotificationEventEnum": "hcm.notifications.models.EVENT_CHOICES",
        "NotificationStateEnum": "hcm.notifications.models.Notification.State",
        "ApplicationStateEnum": "hcm.distribution.models.ApplicationState",
        "CommissionKindEnum": "hcm.distribution.models.CommissionKind",
        "CommissionStateEnum": "hcm.distribution.models.CommissionState",
        "CommissionEntryKindEnum": "hcm.distribution.models.CommissionEntry.Kind",
        "WithdrawalStateEnum": "hcm.distribution.models.WithdrawalState",
    },
}

# --- Admin (django-unfold)
UNFOLD = {
    "SITE_TITLE": _("Hospital customer platform"),
    "SITE_HEADER": _("Hospital customer platform"),
    "SITE_SYMBOL": "local_hospital",
    "SHOW_LANGUAGES": True,
    "SIDEBAR": {"show_search": True, "show_all_applications": True},
}
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
# Admin imports (CSV, TSV, Excel): a file over either limit is refused before it is read. A file
# of more than HCM_IMPORT_BACKGROUND_ROWS rows is checked and imported by a django-q2 task (an
# import job) instead of in the request: a product row costs 10-30 ms through the admin on 2
# cores (more under load), so 100 rows keep each request to a few seconds at most.
# HCM_IMPORT_JOB_TIMEOUT bounds one step of a job (check or import).
HCM_IMPORT_MAX_BYTES = int(env_str("HCM_IMPORT_MAX_BYTES", str(5 * 1024 * 1024)))
HCM_IMPORT_MAX_ROWS = int(env_str("HCM_IMPORT_MAX_ROWS", "20000"))
HCM_IMPORT_BACKGROUND_ROWS = int(env_str("HCM_IMPORT_BACKGROUND_ROWS", "100"))
HCM_IMPORT_JOB_TIMEOUT = int(env_str("HCM_IMPORT_JOB_TIMEOUT", "1800"))  # seconds

# Where notifications go: "console" (development: the log), "locmem" (tests: a list),
# "wechat" (template messages through each hospital's official account).
HCM_NOTIFICATION_BACKEND = env_str("HCM_NOTIFICATION_BACKEND", "console" if DEBUG else "wechat")

# Secrets of hospitals (WeChat keys, ...) are read from these variables by name.
HCM_CONFIG_DIR = BASE_DIR / "configs"
HCM_FIXTURES_DIR = BASE_DIR / "fixtures"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

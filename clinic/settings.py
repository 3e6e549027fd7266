"""Settings, read from the environment (see .env.example for every variable).

The defaults are the zero-service quick start: a SQLite file and a Celery broker on another
SQLite file (kombu's SQLAlchemy transport), both under var/. Production sets DATABASE_URL,
CELERY_BROKER_URL, SECRET_KEY and ALLOWED_HOSTS; with DEBUG off the process refuses to start
without the last two.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# Used only when DEBUG is on and no SECRET_KEY is given (the quick start).
_DEV_SECRET_KEY = "django-insecure-quick-start-only-never-use-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])

if not DEBUG:
    # A guessable key lets anyone forge sessions and patient links: refuse to start.
    if not SECRET_KEY or SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a random value of 50+ characters when DEBUG is off."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")

SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_htmx",
    "csp",
    "phonenumber_field",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "clinic",
    "patients",
    "scheduling",
    "consents",
    "intake",
    "treatments",
    "mdt",
    "letters",
    "photos",
    "landmarks",
    "insight",
]
# Demo and synthetic data (devtools) and the benchmarks (bench): only where the quick start, the
# tests or the benchmark run, never in a deployment.
DEVTOOLS = env.bool("DEVTOOLS", default=False)
if DEVTOOLS:
    INSTALLED_APPS += ["devtools", "bench"]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed the second factor.
    "django_otp.middleware.OTPMiddleware",
    "clinic.middleware.NoStoreMiddleware",
    # django-csp's and Django's, cheaper: the policy is built once, the message storage on use.
    "clinic.middleware.CSPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "clinic.middleware.RequestContextMiddleware",
    "clinic.middleware.SessionTimeoutMiddleware",
    # A session that still owes its second factor (or its enrolment) reaches nothing else.
    "clinic.mfa.middleware.MfaRequiredMiddleware",
    # Last: turns a lockout raised during authentication into the lockout response.
    "axes.middleware.AxesMiddleware",
    # Before any view: a NUL in a query parameter or form field is a 400 (PostgreSQL cannot hold it).
    "clinic.middleware.RefuseNulMiddleware",
]

# The HTTP benchmark's baseline routes (/bench/) and per-request query counts: only for
# `bin/bench` against a benchmark database, never in a deployment (docs/performance.md).
BENCHMARK_ENDPOINTS = env.bool("BENCHMARK_ENDPOINTS", default=False)
if BENCHMARK_ENDPOINTS:
    MIDDLEWARE.insert(0, "bench.middleware.QueryCountMiddleware")

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinic.context_processors.clinic",
            ],
        },
    },
    {
        # Plain-text emails and SMS: no HTML escaping ("O'Brien" must not become "O&#x27;Brien").
        "NAME": "text",
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {"autoescape": False},
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'clinic.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The quick start's web, worker and beat write to one SQLite file at once. Write-ahead
    # logging lets readers go on while one writes; IMMEDIATE transactions take the write lock
    # when they begin, so a writer waits its turn (up to the timeout) instead of failing with
    # "database is locked" when a read turns into a write halfway through.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
if IS_POSTGRES:
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
    # A pool of connections per process (psycopg_pool) instead of one persistent connection per
    # thread: worth it with threaded web workers (GUNICORN_THREADS > 1). Not with pgbouncer,
    # which pools for every process at once (docs/operations.md, "Scaling out").
    if env.bool("DATABASE_POOL", default=False):
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django's pool replaces persistent connections
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=4),
            "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10),
        }
    # How many joined tables the planner may reorder at once (PostgreSQL's join_collapse_limit,
    # 8 by default). A list row with its type, provider, user, room, location and booker is an
    # eight-table join: planning every order of it took 10 ms for a 1 ms query. Within groups
    # of four, planning is 1 ms and the plans of the hot queries are the same or better
    # (docs/performance.md, "Planning time"). 0 leaves the server's setting.
    join_limit = env.int("DATABASE_JOIN_COLLAPSE_LIMIT", default=4)
    session = [f"-c join_collapse_limit={join_limit}"] if join_limit else []
    # JIT compilation of queries (PostgreSQL 12+, on by default) starts once a plan's cost
    # estimate passes jit_above_cost, and big estimates are common for a short query over big
    # tables: the dashboard's recall conversion spent 3 of its 3.6 s compiling at a million
    # patients. An interactive application gains nothing from it; DATABASE_JIT=1 leaves the
    # server's setting.
    if not env.bool("DATABASE_JIT", default=False):
        session.append("-c jit=off")
    # Parallel query: a plan estimated above parallel_setup_cost starts worker processes, which
    # costs milliseconds before the first row. A search whose bitmap the planner overestimates
    # (a few hundred rows read, thousands estimated) took 23 ms with two workers and 6 ms without
    # them, and the dashboard's aggregates were no faster with them; on a busy server the workers
    # only take the cores that other requests are waiting for. DATABASE_PARALLEL_QUERY=1 leaves
    # the server's setting (docs/performance.md, "Parallel query").
    if not env.bool("DATABASE_PARALLEL_QUERY", default=False):
        session.append("-c max_parallel_workers_per_gather=0")
    if session:
        # Added to any options DATABASE_URL gave (?options=...), not in their place.
        given = DATABASES["default"]["OPTIONS"].get("options", "")
        DATABASES["default"]["OPTIONS"]["options"] = " ".join([given, *session]).strip()
    # Behind pgbouncer in transaction mode a cursor cannot outlive its transaction: Django's
    # .iterator() must then fetch through client-side cursors.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
        "DISABLE_SERVER_SIDE_CURSORS", default=False
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "clinic.User"

# ASVS 6.2: at least 12 characters, at least 64 allowed, no composition rules, common passwords
# refused (a list of 40,000 bundled in clinic/data/, also after undoing a trailing number or symbol
# and digit-for-letter swaps). The upper bound (128) keeps a multi-megabyte "password" from tying
# up the hasher.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "clinic.validators.MaximumLengthValidator", "OPTIONS": {"max_length": 128}},
    {
        "NAME": "clinic.validators.CommonPasswordValidator",
        "OPTIONS": {"password_list_path": BASE_DIR / "clinic" / "data" / "common-passwords.txt.gz"},
    },
]
# Lockout after repeated failures (django-axes), on the login page and the API token endpoint
# (both go through authenticate()): a username is locked from one client address, and an
# address spraying usernames is locked as a whole (clinic/lockout.py, docs/security.md).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's model backend, reading a user's permissions in one query (clinic/backends.py).
    "clinic.backends.ModelBackend",
]
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "clinic.lockout.LockoutHandler"
# Failures with usernames that do not exist, and failures of any kind, from one address.
LOGIN_UNKNOWN_USERNAME_LIMIT = env.int("LOGIN_UNKNOWN_USERNAME_LIMIT", default=AXES_FAILURE_LIMIT)
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=4 * AXES_FAILURE_LIMIT)
# The client's address comes from clinic.network (X-Forwarded-For only through TRUSTED_PROXIES).
AXES_CLIENT_IP_CALLABLE = "clinic.network.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
AXES_LOCKOUT_CALLABLE = "clinic.lockout.lockout_response"
# Failed attempts are stored with the request's form data; one-time codes are masked there.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp", "code", "recovery_code"]
# Two-factor authentication (clinic.mfa, django-otp): a TOTP authenticator app plus single-use
# recovery codes. Staff who have set it up always give a code after their password; with
# REQUIRE_MFA on (the default) staff who have not are confined to setting it up. The quick
# start and the test suite turn it off so that the demo logins work with a password alone.
REQUIRE_MFA = env.bool("REQUIRE_MFA", default=True)
# The admin's device pages would otherwise show every TOTP secret to a superuser.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# TOTP secrets are stored encrypted (AES-GCM) and recovery codes as keyed hashes, with keys
# derived from this value (clinic/mfa/crypto.py): a copy of the database alone reveals neither.
# Defaults to SECRET_KEY; set it apart to rotate SECRET_KEY without resetting every authenticator.
MFA_SECRET_KEY = env.str("MFA_SECRET_KEY", default=SECRET_KEY)
# How long a set-up link (new account, two-factor reset) or password-reset link works, in hours.
ACCOUNT_LINK_HOURS = env.int("ACCOUNT_LINK_HOURS", default=72)
# Staff sessions end after SESSION_IDLE_TIMEOUT seconds without a request, and at the latest
# SESSION_ABSOLUTE_TIMEOUT seconds after login (clinic.middleware.SessionTimeoutMiddleware).
# 0 turns a limit off (the test suite does, so that tests can travel in time while logged in;
# the tests of the timeouts turn them back on).
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_ABSOLUTE_TIMEOUT = env.int("SESSION_ABSOLUTE_TIMEOUT", default=12 * 60 * 60)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Private files (signed consent PDFs): a directory that no URL serves. They reach a browser only
# through views that check permissions, audit the read and forbid caching (consents.views).
PRIVATE_MEDIA_ROOT = env.str("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": None, "file_permissions_mode": 0o600},
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env.bool("MANIFEST_STATIC", default=True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Clinical photographs and videos (photos app, docs/photos.md): their own storage, never under a
# public URL; with "s3" the consent PDFs (the "private" storage) move to the bucket too. "file": a
# private directory (PHOTOS_ROOT, var/photos by default) that no web server
# serves; "s3": an S3-compatible bucket through django-storages, private objects, fetched by the
# app only (its views stream them to the browser after the permission check and the audit).
PHOTOS_STORAGE = env.str("PHOTOS_STORAGE", default="file")
PHOTOS_ROOT = env.str("PHOTOS_ROOT", default=str(VAR_DIR / "photos"))
if PHOTOS_STORAGE == "s3":
    _S3_PRIVATE = {
        "bucket_name": env.str("PHOTOS_S3_BUCKET"),
        "endpoint_url": env.str("PHOTOS_S3_ENDPOINT_URL", default="") or None,
        "region_name": env.str("PHOTOS_S3_REGION", default="") or None,
        "access_key": env.str("PHOTOS_S3_ACCESS_KEY_ID", default="") or None,
        "secret_key": env.str("PHOTOS_S3_SECRET_ACCESS_KEY", default="") or None,
        "default_acl": "private",
        "file_overwrite": False,
        "querystring_auth": True,
        "querystring_expire": 60,
        "object_parameters": {"CacheControl": "no-store"},
    }
    STORAGES["photos"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": _S3_PRIVATE}
    # The signed consent PDFs go to the same private bucket, under private/: every server of a
    # deployment reads the same files.
    STORAGES["private"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**_S3_PRIVATE, "location": "private"},
    }
elif PHOTOS_STORAGE == "file":
    STORAGES["photos"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        # base_url is never used: nothing builds a URL to these files, and no route serves the
        # directory; the permissions keep other local users out.
        "OPTIONS": {
            "location": PHOTOS_ROOT,
            "base_url": "/nowhere/",
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }
else:
    raise ImproperlyConfigured("PHOTOS_STORAGE must be 'file' or 's3'.")
# Limits of one uploaded file (bytes; refused before the body is read) and of a video (seconds).
PHOTOS_MAX_IMAGE_BYTES = env.int("PHOTOS_MAX_IMAGE_BYTES", default=25 * 1024 * 1024)
PHOTOS_MAX_VIDEO_BYTES = env.int("PHOTOS_MAX_VIDEO_BYTES", default=200 * 1024 * 1024)
PHOTOS_MAX_VIDEO_SECONDS = env.int("PHOTOS_MAX_VIDEO_SECONDS", default=60)
# Soft-deleted photographs and videos keep their files this many days, then the files are
# purged (the record of what was deleted, by whom and why, stays).
PHOTOS_FFMPEG = env.str("PHOTOS_FFMPEG", default="ffmpeg")
PHOTOS_FFPROBE = env.str("PHOTOS_FFPROBE", default="ffprobe")

WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=DEBUG)

# Email: EMAIL_URL is smtp://user:pass@host:port, consolemail://, memorymail:// ...
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Facial Nerve Clinic <clinic@localhost>")
SMS_BACKEND = env.str("SMS_BACKEND", default="console")
# The quick start's outbox (bin/run sets it to var/outbox): with DEBUG on, the emails and SMS the
# clinic sends are kept there as files and shown to staff at /dev/outbox/ (clinic/outbox.py),
# unless EMAIL_URL or SMS_BACKEND says otherwise.
OUTBOX_DIR = env.str("OUTBOX_DIR", default="") if DEBUG else ""
if OUTBOX_DIR:
    if "EMAIL_URL" not in env:
        EMAIL_BACKEND = "clinic.outbox.OutboxEmailBackend"
    if "SMS_BACKEND" not in env:
        SMS_BACKEND = "outbox"

# Celery. The quick start's broker is kombu's SQLAlchemy transport on a SQLite file of its own
# (var/celery-broker.sqlite3): no broker process, and a message is one committed row, so a
# worker never reads one half-written (the filesystem transport's files could be read while
# still being written, which killed the worker with a JSONDecodeError). No result backend.
_QUICK_START_BROKER = f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=_QUICK_START_BROKER)
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith("sqla+sqlite:"):
    VAR_DIR.mkdir(exist_ok=True)
    # Writers (web, worker, beat) take turns on the file: wait for the lock, never fail at once.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"connect_args": {"timeout": 30}}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first so that anonymous API calls get 401 with a WWW-Authenticate header.
        # django-rest-knox's hashed, expiring tokens, as "Token <key>" or "Bearer <key>".
        "clinic.tokens.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["clinic.permissions.IsStaffUser"],
    "DEFAULT_PAGINATION_CLASS": "clinic.api.pagination.Pagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": [
        "clinic.api.filters.FilterBackend",  # django-filter's, with checked dates (ranges, offsets)
        "clinic.api.filters.AllowListOrderingFilter",
    ],
    # JSON only: the API documents nothing else, and form encodings flatten lists and nested
    # objects in ways no client of this API relies on.
    # (with limits on size, depth and NUL characters: clinic/api/parsers.py)
    "DEFAULT_PARSER_CLASSES": ["clinic.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "clinic.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # DRF's own throttles would read X-Forwarded-For from anyone: use clinic.api.throttling's,
    # which key on clinic.network.client_ip; 0 makes any other one use the connection's address.
    "NUM_PROXIES": 0,
}
# Exports of a patient's whole record, per user (counted in the audit trail: clinic.throttling).
# DRF's defaults (no limit for "user" and "anon") are kept beside it.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "user": None,
    "anon": None,
    "export": env("EXPORT_RATE", default="10/hour"),
}
# Request bodies of the API: at most this many bytes, arrays and objects nested at most this deep
# (clinic/api/parsers.py). Anything larger or deeper is a 400, before it is parsed.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=32)
SPECTACULAR_SETTINGS = {
    "TITLE": "Facial Nerve Clinic API",
    "DESCRIPTION": "Practice management for facial palsy and synkinesis clinics.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs describe every endpoint: staff only, like the API itself.
    "SERVE_PERMISSIONS": ["clinic.permissions.IsStaffUser"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "DEFAULT_GENERATOR_CLASS": "clinic.api.schema.SchemaGenerator",
    # Every operation documents its error statuses with the one error body (clinic/api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "clinic.api.schema.add_error_responses",
    ],
    # Several models have a "status" (and "kind") field with different choices: name each enum.
    "ENUM_NAME_OVERRIDES": {
        "PatientStatusEnum": "patients.models.Patient.Status",
        "AppointmentStatusEnum": "scheduling.models.Appointment.Status",
        "RecallStatusEnum": "scheduling.models.Recall.Status",
        "WaitlistEntryStatusEnum": "scheduling.models.WaitlistEntry.Status",
        "WaitlistOfferStatusEnum": "scheduling.models.WaitlistOffer.Status",
        "InjectionSideEnum": "treatments.models.Side",
        "SurgerySideEnum": "treatments.models.SurgerySide",
        "ModalityEnum": "treatments.models.Modality",
        "FunctionTestResultEnum": "treatments.models.FunctionTestResult",
        # Consents are answered with every method, "merge" included, but sent without it.
        "ConsentMethodEnum": "patients.models.MessagingConsent.Method",
        "ConsentMethodSentEnum": "patients.serializers.SENT_CONSENT_METHODS",
        "ProcedureConsentStatusEnum": "consents.models.PatientConsent.Status",
        "ConsentProcedureEnum": "consents.models.Procedure",
        "SignatureMethodEnum": "consents.models.PatientConsent.SignatureMethod",
        "ConsentViaEnum": "consents.models.PatientConsent.Via",
        "CodeMappingSourceEnum": "insight.models.CodeMapping.Source",
        "CodeMappingTargetEnum": "insight.models.CodeMapping.Target",
        "ConsultationRequestStatusEnum": "intake.models.ConsultationRequest.Status",
        "ConsultationRequestSourceEnum": "intake.models.ConsultationRequest.Source",
        "ConsultationRequestSideEnum": "intake.models.ConsultationRequest.Side",
        "ConsultationRequestEmailStatusEnum": "intake.models.ConsultationRequest.EmailStatus",
        # Plan agreements are answered with every method, "link" included, but sent without it.
        "PlanAgreementMethodEnum": "treatments.models.PlanAgreement.Method",
        "PlanAgreementMethodSentEnum": "treatments.serializers.AGREEMENT_METHODS_SENT",
        "MdtMeetingStatusEnum": "mdt.models.MdtMeeting.Status",
        "MdtItemStatusEnum": "mdt.models.MdtItem.Status",
        "RoleEnum": "clinic.roles.Role",
        # A letter is a draft or signed, as an encounter is: one set of choices, one component.
        "EncounterStatusEnum": "treatments.models.Encounter.Status",
        "LetterKindEnum": "letters.models.Letter.Kind",
        "LetterRecipientEnum": "letters.models.LetterDelivery.Recipient",
        "LetterDeliveryStatusEnum": "letters.models.LetterDelivery.Status",
    },
}

# Security headers. HTTPS settings are on whenever DEBUG is off; behind a TLS-terminating
# proxy set SECURE_PROXY_SSL_HEADER through TRUST_X_FORWARDED_PROTO.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# A strict Content Security Policy: scripts and styles only from this site (no inline code; the
# nonce is there for the rare page that needs one and is only sent when a template uses it),
# no plugins, no framing, forms post only here. The browser journeys fail on any violation.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_REDIRECT_EXEMPT = [r"^health/$", r"^health/live$", r"^health/ready$"]
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The reverse proxies (IP addresses or CIDR networks) whose X-Forwarded-For is believed; empty:
# the header is ignored and the connection's address is the client's (clinic/network.py).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# Structured logging: one JSON object per line. Log lines carry ids, never patient data.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# LOG_FORMAT=text: one plain line per record, for a person at a terminal (the quick start).
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "clinic.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s", "datefmt": "%H:%M:%S"},
    },
    "filters": {"request_context": {"()": "clinic.logging.RequestContextFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "text" if LOG_FORMAT == "text" else "json",
            "filters": ["request_context"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery": {"level": LOG_LEVEL},
        # The PDF renderer (signed consents) logs every step at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# Clinic rules that are settings, not code (see docs/domain.md).
CLINIC_NAME = env.str("CLINIC_NAME", default="Facial Nerve Clinic")
# The name authenticator apps show beside the staff member's username.
OTP_TOTP_ISSUER = CLINIC_NAME

# Phone numbers without a country prefix are read as numbers of this region; stored in E.164.
PHONENUMBER_DEFAULT_REGION = env.str("PHONE_REGION", default="GB")
PHONENUMBER_DB_FORMAT = "E164"

# Messaging to patients (scheduling.channels, scheduling.reminders).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=15)
# The domain that makes Message-IDs and calendar UIDs unique to this clinic (RFC 5322 3.6.4,
# RFC 5545 3.8.4.7): by default the host of SITE_URL, which no other clinic shares. Calendar
# UIDs never depend on the request (a feed read at another host name keeps its events).
EMAIL_MESSAGE_ID_DOMAIN = env.str(
    "EMAIL_MESSAGE_ID_DOMAIN", default=urlsplit(SITE_URL).hostname or "localhost"
)
CALENDAR_UID_DOMAIN = env.str("CALENDAR_UID_DOMAIN", default=EMAIL_MESSAGE_ID_DOMAIN)
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
TWILIO_API_BASE = env.str("TWILIO_API_BASE", default="https://api.twilio.com")
# Messages handed to one send task; the dispatcher claims at most MESSAGE_DISPATCH_LIMIT a run.
MESSAGE_BATCH_SIZE = env.int("MESSAGE_BATCH_SIZE", default=50)
MESSAGE_DISPATCH_LIMIT = env.int("MESSAGE_DISPATCH_LIMIT", default=5000)
MESSAGE_MAX_ATTEMPTS = env.int("MESSAGE_MAX_ATTEMPTS", default=6)
# The first retry after a transient provider error; each next one waits 4 times longer (cap 6 h).
MESSAGE_RETRY_BASE_SECONDS = env.float("MESSAGE_RETRY_BASE_SECONDS", default=60.0)
# A claim older than this belongs to a worker that died: queued rows go back to scheduled,
# sending rows are marked failed ("interrupted"). Longer than any one batch can take.
MESSAGE_STALE_CLAIM_SECONDS = env.float("MESSAGE_STALE_CLAIM_SECONDS", default=600.0)
# Seconds to wait for the SMS provider's answer. A request that timed out after it was sent may
# have been delivered, so it is never retried (see docs/reminders.md, "Faults").
SMS_TIMEOUT = env.float("SMS_TIMEOUT", default=10.0)
# Provider calls in flight at once per worker process; also how many rows one claim moves to
# "sending" (see scheduling/reminders/services.py: at most this many end "interrupted" if the
# process is killed). 1 sends one message after the other.
MESSAGE_SEND_CONCURRENCY = env.int("MESSAGE_SEND_CONCURRENCY", default=8)
# Dispatch right after a booking changes (confirmations within seconds) besides every minute.
MESSAGES_DISPATCH_ON_CHANGE = env.bool("MESSAGES_DISPATCH_ON_CHANGE", default=True)
# How long a patient link stays valid (days).
PATIENT_LINK_MAX_AGE_DAYS = env.int("PATIENT_LINK_MAX_AGE_DAYS", default=30)
# A link to read and sign a consent form, and later to fetch the signed PDF (consents.links).
CONSENT_LINK_MAX_AGE_DAYS = env.int("CONSENT_LINK_MAX_AGE_DAYS", default=14)
# The public consultation request form (/request/, intake.throttle): at most this many posts
# from one client address in this many minutes; past that the address gets a 429 page.
INTAKE_REQUESTS_PER_ADDRESS = env.int("INTAKE_REQUESTS_PER_ADDRESS", default=5)
INTAKE_WINDOW_MINUTES = env.int("INTAKE_WINDOW_MINUTES", default=60)
# A public form's body larger than this (bytes) is refused with a page, before it is parsed.
INTAKE_MAX_BODY_BYTES = env.int("INTAKE_MAX_BODY_BYTES", default=16 * 1024)
# Advisory locks serialize bookings of one provider, room or patient (scheduling.services). The
# switch exists only so that `manage.py race_booking --without-constraint` can show the race that
# they and the exclusion constraints close; production never turns it off.
SCHEDULING_BOOKING_LOCKS = env.bool("SCHEDULING_BOOKING_LOCKS", default=True)
# Provider columns on one page of the day view (/schedule/); more providers that day are paged.
SCHEDULE_DAY_COLUMNS = env.int("SCHEDULE_DAY_COLUMNS", default=12)

CELERY_BEAT_SCHEDULE = {
    "dispatch-due-messages": {"task": "scheduling.tasks.messages_dispatch_task", "schedule": 60.0},
    # The reinjection interval's safety net: pairs that reached the records outside its paths.
    "interval-findings-scan": {
        "task": "treatments.tasks.interval_findings_scan_task",
        "schedule": crontab(hour=2, minute=30),
    },
    # Files of photographs and videos deleted longer ago than the retention setting.
    "photos-retention-purge": {
        "task": "photos.tasks.media_purge_task",
        "schedule": crontab(hour=3, minute=15),
    },
    # Letter emails whose after-commit nudge was lost (the broker was down): each is still sent once.
    "letter-deliveries-dispatch": {
        "task": "letters.tasks.letter_deliveries_dispatch_task",
        "schedule": 300.0,
    },
}

# API tokens (django-rest-knox, clinic/tokens/): only a SHA-512 digest of each key is stored;
# every token expires API_TOKEN_TTL_HOURS after it was issued (a working day by default: API
# users are staff), and is revoked on a password change or reset, a two-factor reset,
# deactivation and "sign out everywhere".
API_TOKEN_TTL_HOURS = env.int("API_TOKEN_TTL_HOURS", default=10)
if not 1 <= API_TOKEN_TTL_HOURS <= 24 * 30:
    raise ImproperlyConfigured("API_TOKEN_TTL_HOURS must be between 1 and 720.")
KNOX_TOKEN_MODEL = "clinic.ApiToken"  # noqa: S105  (a model name, not a secret)
REST_KNOX = {
    "TOKEN_MODEL": KNOX_TOKEN_MODEL,
    "TOKEN_TTL": timedelta(hours=API_TOKEN_TTL_HOURS),
    "AUTO_REFRESH": False,  # a fixed lifetime: use does not extend it
    "AUTH_HEADER_PREFIX": "Token",
}
# knox's own token table is swapped out for clinic.ApiToken, but knox's migrations would still
# create it (an unused table that only gets in the way of flush and restore): they are not run.
MIGRATION_MODULES = {"knox": None}
# scheduling.Message's covering index (INCLUDE columns) serves PostgreSQL; SQLite, the quick
# start's database, builds it without them, which is harmless there: say nothing about it.
if not IS_POSTGRES:
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
# One form style everywhere: labels without a colon, help text below the field (clinic/forms.py).
FORM_RENDERER = "clinic.forms.ClinicFormRenderer"

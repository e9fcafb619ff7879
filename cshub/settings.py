"""cshub settings: everything comes from the environment (django-environ), with defaults that run locally
with no services (SQLite, eager tasks, console email). See the README's table of variables."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# Under pytest: fast hashing, a throwaway key, eager Celery (tests that need the real worker opt out).
TESTING = env.bool("CSHUB_TESTING", default="pytest" in sys.modules)

if DEBUG or TESTING:
    SECRET_KEY = env.str("SECRET_KEY", default="insecure-dev-key-only-for-debug-and-tests-0123456789abcdef")
else:
    # No working default in production mode: refuse to start without a real key (an empty one is none).
    SECRET_KEY = env.str("SECRET_KEY")
    if not SECRET_KEY.strip():
        raise ImproperlyConfigured("Set the SECRET_KEY environment variable (a long random string).")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
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
    "django.contrib.humanize",
    "rest_framework",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "template_partials",
    "core",
    "accounts",
    "surveys",
    "metrics",
    "playbooks",
    "integrations",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After the user is known, before any view (or CSRF) reads a body: control characters, body size.
    "core.middleware.InputLimitsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: answers a locked-out login attempt (docs/operations.md#brute-force).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cshub.urls"
WSGI_APPLICATION = "cshub.wsgi.application"
ASGI_APPLICATION = "cshub.asgi.application"

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
                "core.context_processors.site",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    # SQLite: wait for a writer instead of failing with "database is locked" under runserver threads.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("timeout", 20)
# A read replica (docs/operations.md#read-replica): the dashboards, their APIs and the CSV exports read from
# it inside core.db.reads_from_replica; everything else, and every write, uses `default`.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    if DATABASES["replica"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["replica"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
        DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
elif TESTING:
    # Tests: a "replica" that is the test database itself (a second connection to it), so the routing tests
    # can see which alias ran each query; it is used only where a test sets CSHUB_REPLICA_ALIAS.
    DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
CSHUB_REPLICA_ALIAS = "replica" if DATABASE_REPLICA_URL else ""
DATABASE_ROUTERS = ["core.db.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# django-axes first: it refuses a locked-out account or address before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "accounts.backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Development and tests serve from the finders; no collected STATIC_ROOT to scan (and warn about) at start.
WHITENOISE_AUTOREFRESH = DEBUG or TESTING
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Cache (rate limiting, sessions stay in the database) ---
REDIS_URL = env.str("REDIS_URL", default="")
# The web never waits on Redis for more than ~1 s (docs/operations.md#failure-rules): connect and socket
# timeouts on the cache, the broker and the result backend.
REDIS_TIMEOUT = 1.0
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_timeout": REDIS_TIMEOUT, "socket_connect_timeout": REDIS_TIMEOUT},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery: a broker when REDIS_URL is set; otherwise tasks run inline (eager) ---
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL or TESTING)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="cshub")
# A dead worker's unacknowledged tasks return to the queue after visibility_timeout (docs/operations.md#
# failure-rules): 10 minutes, so every task's hard time limit stays below it (or a long task would be handed
# to a second worker while the first still runs it). Timeouts: see REDIS_TIMEOUT.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=600),
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 3,
    "socket_timeout": REDIS_TIMEOUT,
    "socket_connect_timeout": REDIS_TIMEOUT,
}
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_TIMEOUT
CELERY_REDIS_SOCKET_TIMEOUT = REDIS_TIMEOUT
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_TIMEOUT
# Workers keep their database connections from task to task under Django's own rules (CONN_MAX_AGE, health
# checks: cshub/celery.py, connections_checked); Celery's fixup closes them only every this many tasks.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_TIME_LIMIT = 9 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 8 * 60

# --- Email: SMTP from EMAIL_URL, console otherwise (the demo prints survey links) ---
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="cshub <cshub@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
CSHUB_COMPANY_NAME = env.str("CSHUB_COMPANY_NAME", default="Acme Analytics")

# Parallel workers PostgreSQL may start per query of a dashboard page (home, trends, team): its default (2)
# runs each aggregate on 3 processes, which on a 2-core server costs more than it saves (measured in
# bench/bench_pages.py: the admin's team page 306 -> 250 ms of SQL) and under many concurrent users takes
# CPU from the other requests. Raise it on a server with cores to spare; -1 keeps the server's setting.
CSHUB_PAGE_PARALLEL_WORKERS = env.int("CSHUB_PAGE_PARALLEL_WORKERS", default=1)
# As-of dates the health backtest reads at once, each on its own connection (docs/health.md#backtest).
CSHUB_BACKTEST_WORKERS = env.int("CSHUB_BACKTEST_WORKERS", default=2)

# --- Metric settings (docs/metrics.md) ---
CSHUB_GROSS_MARGIN = env.float("CSHUB_GROSS_MARGIN", default=1.0)
CSHUB_CAC = env.float("CSHUB_CAC", default=0.0)
# The one reporting currency (ISO code, lower case as Stripe writes it): the MRR ledger is in it; a Stripe
# subscription in another currency is recorded as a connector error, not converted
# (docs/integrations.md#stripe).
CSHUB_CURRENCY = env.str("CSHUB_CURRENCY", default="usd").strip().lower()
# Stripe (docs/integrations.md#stripe): the webhook endpoint's signing secret (whsec_…) and a restricted API
# key with read access to customers and subscriptions, for `manage.py sync_stripe`. STRIPE_API_BASE points
# the library elsewhere (stripe-mock, or the tests' local fake).
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_KEY = env.str("STRIPE_API_KEY", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com").rstrip("/")

# --- Customer page panels from apps right of accounts (cshub/panels.py); one dotted path per provider ---
CSHUB_CUSTOMER_PANELS: list[str] = [
    "surveys.panels.customer_panels",
    "playbooks.panels.customer_panels",
    "metrics.health.panels.customer_panels",
    "metrics.panels.customer_panels",
]
# One line per Book row from the apps to the right of accounts (core.panels.book_notes).
CSHUB_BOOK_NOTES: list[str] = ["metrics.health.panels.book_weakest_factors"]
# --- Customer timeline sources (core/timeline.py, docs/workspace.md#timeline); each returns [Source] ---
CSHUB_TIMELINE_SOURCES: list[str] = [
    "accounts.timeline.sources",
    "surveys.timeline.sources",
    "metrics.timeline.sources",
    "playbooks.timeline.sources",
]
# Called as f(day=date) after each day's health recompute (command and nightly Celery chord); playbooks'
# trigger evaluation plugs in here.
CSHUB_AFTER_HEALTH_RECOMPUTE: list[str] = [
    "playbooks.tasks.after_health_recompute",
]
# --- Live data (docs/health.md#live-data) ---
# The task a write queues (once committed, debounced) to recompute the dirty customers' health for today.
CSHUB_LIVE_RECOMPUTE_TASK = "metrics.tasks.health_recompute_live"
# Seconds a burst of writes gathers before the recompute: larger batches cost less CPU per customer (a batch
# has ~40 queries of fixed cost), smaller ones show sooner (bench/bench_live.py measures both).
CSHUB_LIVE_DEBOUNCE_SECONDS = env.float("CSHUB_LIVE_DEBOUNCE_SECONDS", default=5.0)
# A busy stream (the last pass recomputed at least CSHUB_LIVE_BUSY_BATCH customers) waits longer, so each
# batch, whose fixed cost is a Celery task and ~40 queries, is shared by more customers (docs/health.md).
CSHUB_LIVE_DEBOUNCE_BUSY_SECONDS = env.float("CSHUB_LIVE_DEBOUNCE_BUSY_SECONDS", default=8.0)
CSHUB_LIVE_BUSY_BATCH = env.int("CSHUB_LIVE_BUSY_BATCH", default=25)
# Called as f(day=date, customer_ids=[...]) after each batch of the live recompute: playbooks' evaluation of
# the triggers that read today's health, for those customers.
CSHUB_AFTER_LIVE_RECOMPUTE: list[str] = ["playbooks.evaluation.triggers_evaluate_live"]
# Called as f(touchpoint=...) inside the transaction that logs a touchpoint: tasks waiting for it complete.
CSHUB_AFTER_TOUCHPOINT_LOGGED: list[str] = ["playbooks.services.work.after_touchpoint_logged"]
# Who gets a playbook run for a customer with no CSM when no team manager can be found (an email; optional).
CSHUB_PLAYBOOK_FALLBACK_ASSIGNEE = env.str("CSHUB_PLAYBOOK_FALLBACK_ASSIGNEE", default="")
# The renewal rate an at_risk renewal is expected at while there are fewer than 5 closed at_risk renewals in
# the last year to learn it from (docs/renewals.md#the-at-risk-rate).
CSHUB_RENEWAL_AT_RISK_FALLBACK_RATE = env.str("CSHUB_RENEWAL_AT_RISK_FALLBACK_RATE", default="0.5")

# --- Raw usage events (docs/operations.md#usage-partitions) ---
# Raw events (metrics_usageevent; monthly partitions on PostgreSQL) older than this many days are archived by
# `manage.py usage_partitions` (nightly in the beat schedule); the daily rollups are kept forever. It is also
# the window in which re-posting an event is recognised as a duplicate. 0 keeps raw events forever.
CSHUB_RAW_EVENT_DAYS = env.int("CSHUB_RAW_EVENT_DAYS", default=90)
# Calls of the Segment-spec tracking API for a customer not known yet (docs/integrations.md) wait this many
# days for the `group` call that names it, then are deleted (nightly in the beat schedule). 0 keeps them.
CSHUB_SEGMENT_PENDING_DAYS = env.int("CSHUB_SEGMENT_PENDING_DAYS", default=90)
# Where archived raw events are written (one gzip CSV per partition) before they are dropped; empty: dropped
# without a copy (the rollups hold everything the pages and the health model read).
CSHUB_RAW_EVENT_ARCHIVE_DIR = env.str("CSHUB_RAW_EVENT_ARCHIVE_DIR", default="")

# --- REST API ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",  # DRF's, with a limit on wrong tokens
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    # JSON only, through core.parsers: body size, nesting depth, duplicate keys, control characters
    # (docs/api.md#bad-input). A form-encoded body is a 415.
    "DEFAULT_PARSER_CLASSES": ["core.parsers.StrictJSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # Services raise Django's and their own exceptions; this one handler answers them (views stay thin).
    "EXCEPTION_HANDLER": "core.exception_handlers.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "DATE_FORMAT": "%Y-%m-%d",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "cshub API",
    "DESCRIPTION": "Customer Success platform: ingestion, customers, metrics, health and playbooks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Group operations by resource (customers, contacts, metrics…) rather than under one "v1" tag.
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # docs/architecture.md#roles-and-permissions: anonymous visitors see only the login and survey pages, so
    # the API docs need a login too.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Several models have a "kind" choice field; name their enums apart (spectacular warns otherwise).
    "ENUM_NAME_OVERRIDES": {
        "TouchpointKindEnum": "accounts.models.TouchpointKind",
        "SurveyKindEnum": "surveys.models.Kind",
    },
}
# The largest body a signed-in user may send (a 10,000-row ingestion list is ~3 MB of JSON, a CSV import of
# the same size less); anonymous requests get 64 KiB (core.middleware), JSON bodies this (core.parsers).
CSHUB_MAX_BODY_BYTES = env.int("CSHUB_MAX_BODY_BYTES", default=20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = CSHUB_MAX_BODY_BYTES

# --- Security (production defaults; `check --deploy` is clean with a production env) ---
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG and SITE_URL.startswith("https"))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp; docs/operations.md#content-security-policy): scripts only from our own
# static files (no inline script anywhere; tests/security/test_csp.py holds the templates to it). Styles
# allow inline `style=""` attributes, which cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Client address and brute force (docs/operations.md#client-address, #brute-force) ---
# Addresses or networks of the proxies in front of cshub (e.g. "10.0.0.0/8,172.16.0.0/12"): behind one, the
# client is the nearest X-Forwarded-For hop that is not a trusted proxy (core.net.client_ip).
# Empty: REMOTE_ADDR.
CSHUB_TRUSTED_PROXIES = env.list("CSHUB_TRUSTED_PROXIES", default=[])
# django-axes: after AXES_FAILURE_LIMIT wrong passwords for one account, or from one address, logins from
# it are refused for AXES_COOLOFF_MINUTES (each further try restarts the wait); a right password resets the
# count.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "accounts.backends.lockout_username"  # the login form's "username" is the email
AXES_CLIENT_IP_CALLABLE = "accounts.backends.lockout_client_ip"  # core.net.client_ip, or None
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Wrong API tokens: at most this many per client address per hour (accounts.authentication).
CSHUB_API_BAD_TOKEN_LIMIT = env.int("CSHUB_API_BAD_TOKEN_LIMIT", default=20)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"no_traceback_for_refusals": {"()": "core.log_filters.NoTracebackForRefusals"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own console handler (under DEBUG) wrote every record a second time beside the root's.
        "django": {"handlers": [], "propagate": True},
        "django.request": {"filters": ["no_traceback_for_refusals"]},
    },
}

# --- Surveys (docs/surveys.md; surveys/ reads these) ---
CSHUB_SURVEY_TOKEN_DAYS = env.int("CSHUB_SURVEY_TOKEN_DAYS", default=30)  # a link works this long
CSHUB_SURVEY_THROTTLE_DAYS = env.int(
    "CSHUB_SURVEY_THROTTLE_DAYS", default=90
)  # no contact surveyed twice within
CSHUB_SURVEY_BATCH_SIZE = env.int("CSHUB_SURVEY_BATCH_SIZE", default=50)  # invitations per send task
# Public survey pages: at most RATE_LIMIT requests per client address (core.net.client_ip) and
# TOKEN_RATE_LIMIT per link token, per RATE_WINDOW seconds (Redis, or a local count while it is down).
CSHUB_SURVEY_RATE_LIMIT = env.int("CSHUB_SURVEY_RATE_LIMIT", default=120)
CSHUB_SURVEY_TOKEN_RATE_LIMIT = env.int("CSHUB_SURVEY_TOKEN_RATE_LIMIT", default=30)
CSHUB_SURVEY_RATE_WINDOW = env.int("CSHUB_SURVEY_RATE_WINDOW", default=60)
# --- end Surveys ---

# --- Zendesk (docs/integrations.md#zendesk; integrations/zendesk/ reads these) ---
# The help desk: https://<subdomain>.zendesk.com, or ZENDESK_URL in full (another host, a test fake).
ZENDESK_SUBDOMAIN = env.str("ZENDESK_SUBDOMAIN", default="")
ZENDESK_URL = env.str("ZENDESK_URL", default="").rstrip("/")
# API token authentication for `sync_zendesk` (an agent's email and an API token from the Admin Center).
ZENDESK_EMAIL = env.str("ZENDESK_EMAIL", default="")
ZENDESK_API_TOKEN = env.str("ZENDESK_API_TOKEN", default="")
# The signing secret of the Zendesk webhook that posts to /integrations/zendesk/webhook/; unset: refused.
ZENDESK_WEBHOOK_SECRET = env.str("ZENDESK_WEBHOOK_SECRET", default="")
# --- end Zendesk ---

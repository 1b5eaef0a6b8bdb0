"""Settings, read from the environment so one build runs anywhere.

SQLite under ./var/ by default; DATABASE_URL selects PostgreSQL in production.
"""

import os
import re
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("URBANGRID_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# The fallback key only serves the embedded demo (`make run` sets URBANGRID_DEMO=1) and
# development (DEBUG=1); a server started with it otherwise refuses to start (urbangrid.lib.deploy),
# or sessions and tokens would be forgeable. Commands that do not serve (migrate, makemigrations)
# run with it.
DEMO_SECRET_KEY = "urbangrid-demo-only-not-secret-change-me"
SECRET_KEY = os.environ.get("SECRET_KEY", DEMO_SECRET_KEY)
URBANGRID_DEMO = env_bool("URBANGRID_DEMO")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",
    "django_htmx",
    "django_tasks",
    # Before django_tasks_db: its `db_worker` command is replaced by the resilient one of lib.
    "urbangrid.lib",
    "django_tasks_db",
    "urbangrid.geo",
    "urbangrid.catalog",
    "urbangrid.orgs",
    "urbangrid.cases",
    "urbangrid.patrol",
    "urbangrid.joint",
    "urbangrid.credit",
    "urbangrid.evaluation",
    "urbangrid.portal",
    "urbangrid.console",
    "urbangrid.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "urbangrid.lib.middleware.CleanInputMiddleware",  # before CSRF, which reads the form
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "urbangrid.urls"
WSGI_APPLICATION = "urbangrid.wsgi.application"
ASGI_APPLICATION = "urbangrid.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "urbangrid" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# Widgets render through the project's templates, which override Django's "---------" choice.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

# SQLite in WAL mode is the embedded default; DATABASE_URL switches to PostgreSQL.
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'urbangrid.sqlite3'}")
# Pooled connections are health-checked before reuse: a backend terminated by a database restart or
# failover is replaced at the start of the next request instead of failing it with a 500.
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("SQLITE_TEST_NAME") or None}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Apply wherever a person sets a password (the console, the admin, createsuperuser); the demo
# city sets its one known password directly.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "urbangrid.orgs.passwords.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("PASSWORD_MIN_LENGTH", 8)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "console:login"

# Chinese first, English second.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "urbangrid" / "locale"]
USE_I18N = True
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "urbangrid" / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Background work: django-tasks with the database backend; `manage.py serve` starts db_worker.
TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default", "reports"],
    }
}

# HTTPS: URBANGRID_TLS=1 says the site is reached over TLS (directly or through a proxy that sets
# SECURE_PROXY_SSL_HEADER); with DEBUG off that turns on redirects, HSTS and secure cookies,
# each of which can still be set on its own.
TLS = env_bool("URBANGRID_TLS") and not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", TLS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 86400 if TLS else 0)
# Subdomains and the preload list bind every host of the domain to HTTPS: an explicit choice.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", TLS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", TLS)
if proxy_header := os.environ.get("SECURE_PROXY_SSL_HEADER", ""):
    # e.g. "X-Forwarded-Proto": the proxy's header that carries "https".
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + proxy_header.upper().replace("-", "_"), "https")

# Everything is served by the platform itself, so the policy is strict: no inline script but one
# with the request's nonce, no eval, nothing from another origin except an intranet tile server.
# Style attributes stay allowed: Leaflet and ECharts position their elements with them.
_tile_origin = re.match(r"^https?://[^/{]+", os.environ.get("URBANGRID_MAP_TILE_URL", ""))
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "style-src-attr": ["'unsafe-inline'"],
        # data:/blob: are the map library's icons and the phone's photo previews.
        "img-src": [SELF, "data:", "blob:", *([_tile_origin.group(0)] if _tile_origin else [])],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# The phone pages use the location (patrol, reports) and the camera (photos); nothing else.
PERMISSIONS_POLICY = {
    "geolocation": ["self"],
    "camera": ["self"],
    "microphone": [],
    "payment": [],
    "usb": [],
    "serial": [],
    "midi": [],
    "display-capture": [],
    "browsing-topics": [],
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 12 * 3600
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

# Domain settings (URBANGRID_*): defaults of docs/domain.md, each overridable.
URBANGRID = {
    # The city this deployment serves: GB/T 2260 prefix (4 digits) and display name.
    "CITY_CODE": os.environ.get("URBANGRID_CITY_CODE", "6199"),
    "CITY_NAME": os.environ.get("URBANGRID_CITY_NAME", "示范市"),
    # Map centre (WGS-84) and optional base-tile URL template (none = plain background, offline).
    "MAP_TILE_URL": os.environ.get("URBANGRID_MAP_TILE_URL", ""),
    "MAP_TILE_CRS": os.environ.get("URBANGRID_MAP_TILE_CRS", "wgs84"),  # wgs84 | gcj02 | bd09
    # Working day used by the calendar for working-hour limits.
    "WORK_MORNING": ("08:30", "12:00"),
    "WORK_AFTERNOON": ("14:00", "17:30"),
    # Coverage proof: areas below this many m² are slivers, not findings.
    "SLIVER_M2": float(os.environ.get("URBANGRID_SLIVER_M2", "1.0")),
    "GRID_TARGET_M2": float(os.environ.get("URBANGRID_GRID_TARGET_M2", "10000")),
    # Outbound notifications: "console" (log) or "webhook" (HTTP POST to NOTIFY_WEBHOOK_URL).
    "NOTIFY_BACKEND": os.environ.get("URBANGRID_NOTIFY_BACKEND", "console"),
    "NOTIFY_WEBHOOK_URL": os.environ.get("URBANGRID_NOTIFY_WEBHOOK_URL", ""),
    "UPLOAD_MAX_BYTES": env_int("URBANGRID_UPLOAD_MAX_BYTES", 8 * 1024 * 1024),
    # API tokens and client keys expire: this many days after issue unless the issuer chooses
    # (at most API_TOKEN_MAX_DAYS).
    "API_TOKEN_DAYS": env_int("URBANGRID_API_TOKEN_DAYS", 90),
    "API_TOKEN_MAX_DAYS": env_int("URBANGRID_API_TOKEN_MAX_DAYS", 366),
    # Task workers beat this often; a worker silent for 6 beats is lost and its tasks requeued.
    "WORKER_HEARTBEAT_SECONDS": float(os.environ.get("URBANGRID_WORKER_HEARTBEAT_SECONDS", "10")),
    # Caps every interval of PERIODIC_TASKS (seconds), e.g. for a demo or a fault test.
    "PERIODIC_MAX_INTERVAL": env_int("URBANGRID_PERIODIC_MAX_INTERVAL", 86400),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# (task path, interval in seconds) enqueued by `manage.py scheduler` (started by `manage.py serve`).
PERIODIC_TASKS = [
    ("urbangrid.cases.tasks.sweep_deadlines", 60),
    ("urbangrid.cases.tasks.deliver_notifications", 30),
    ("urbangrid.credit.tasks.evaluate_credit", 86400),
    ("urbangrid.patrol.tasks.close_abandoned_tracks", 600),
    ("urbangrid.joint.tasks.start_due_campaigns", 600),
]

"""Settings for the movie site, read from the environment.

With nothing set the project runs on embedded defaults (SQLite, an in-process
cache, Celery tasks run in process) so a fresh machine can try it. Set
DATABASE_URL and REDIS_URL to run on PostgreSQL, Redis and Celery workers.
Every variable is listed, with a comment, in .env.example.
"""

from ipaddress import ip_network
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str
from config.log_context import logging_config
from config.mail import mail_settings

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (see .env.example)")
    SECRET_KEY = "django-insecure-development-only-key"  # noqa: S105 - only with DEBUG on

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_celery_beat",
    # django-ninja: its static files let /api/docs load Swagger UI without a CDN.
    "ninja",
    "accounts",
    "movies",
    "recommender",
]

MIDDLEWARE = [
    # First: every log line of a request carries its id (config/log_context.py).
    "config.request_id.request_id_middleware",
    # Before SecurityMiddleware: load balancers probe by IP over plain http (recommender/health.py).
    "recommender.health.health_middleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response (config/security_headers.py).
    "config.security_headers.csp_middleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A view's Http404 gets templates/404.html even with DEBUG on (config/not_found.py).
    "config.not_found.NotFoundPageMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

# --- Data ---------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or ""
if not DATABASE_URL:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASE_URL = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the site read while an import or a training snapshot runs.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database host that drops packets fails a connect in seconds (pages, /healthz), not the OS's minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache and Celery broker on separate database numbers ---------------
REDIS_URL = env_str("REDIS_URL") or ""


def _redis_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


if REDIS_URL:
    from config.redis_breaker import BreakerConnection

    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": env_str("REDIS_CACHE_URL") or _redis_db(REDIS_URL, 1),
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "movies"),
            "OPTIONS": {
                # A frozen Redis must cost a page half a second, not redis-py's default 5 s.
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
                "IGNORE_EXCEPTIONS": True,
                # ... and after one such timeout, skip Redis for a few seconds (config/redis_breaker.py).
                "CONNECTION_POOL_KWARGS": {"connection_class": BreakerConnection},
            },
        }
    }
    # The breaker logs each outage once; django-redis would log a traceback for every skipped call.
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = False
    # Sessions read from Redis (and kept seconds in each process) and fall back to the database when
    # Redis is away.
    SESSION_ENGINE = "accounts.session_store"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Template fragments the same for every visitor that a process keeps for itself (the cards' stars and
# buttons in a cached section, movies/_movie_card.html): cheaper to read here than to fetch from Redis.
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "fragments",
    "OPTIONS": {"MAX_ENTRIES": env_int("FRAGMENT_CACHE_ENTRIES", 20000)},
}

# --- Celery -------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or (_redis_db(REDIS_URL, 0) if REDIS_URL else "memory://")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or (_redis_db(REDIS_URL, 0) if REDIS_URL else None)
# Without a broker the tasks run in process, so the embedded site still works.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Training gets its own queue and worker (-c 1, one task per child) so TensorFlow's memory is returned.
CELERY_TASK_ROUTES = {
    "recommender.train_version": {"queue": "training"},
    "recommender.version_protocols": {"queue": "training"},
}
RECOMMENDER_TRAIN_SOFT_TIME_LIMIT = env_int("RECOMMENDER_TRAIN_SOFT_TIME_LIMIT", 2 * 3600)
RECOMMENDER_TRAIN_TIME_LIMIT = env_int("RECOMMENDER_TRAIN_TIME_LIMIT", 2 * 3600 + 900)
# The retrain lock lives this many seconds unless its holder renews it (every third of them): the lock of a
# killed trainer frees itself within them, and a trainer started after it waits them out.
RECOMMENDER_RETRAIN_LOCK_TTL = env_int("RECOMMENDER_RETRAIN_LOCK_TTL", 60)
CELERY_TASK_ANNOTATIONS = {
    "recommender.train_version": {
        # 0 means none. The soft limit must be below the hard one: the hard timer starts at the soft one.
        "soft_time_limit": RECOMMENDER_TRAIN_SOFT_TIME_LIMIT or None,
        "time_limit": RECOMMENDER_TRAIN_TIME_LIMIT or None,
        "max_retries": env_int("RECOMMENDER_TRAIN_MAX_RETRIES", 3),
    },
}
# A task whose worker died comes back after the visibility timeout: keep it above every time limit.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": RECOMMENDER_TRAIN_TIME_LIMIT + 3600}
CELERY_TIMEZONE = "UTC"

# --- Auth ---------------------------------------------------------------------
# The session's user comes from the cache, dropped whenever the user is saved (accounts/auth_backend.py).
AUTHENTICATION_BACKENDS = ["accounts.auth_backend.CachedModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# --- Security: HTTPS, cookies, headers, passwords, login attempts ---------------
# `manage.py check --deploy` with production settings reports nothing (tests/security/test_deploy_check.py).
# HTTPS is on by default with DEBUG off: plain http is redirected, cookies are sent over https only,
# and browsers are told (HSTS) to use https for a year. HTTPS=false serves plain http (make stack, benches).
HTTPS = env_bool("HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 365 * 24 * 3600 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
# Preloading is baked into browsers for months and binds every subdomain of the registered domain:
# the deployer opts in (HSTS_PRELOAD=true) once all of them serve https; until then its warning is silenced.
SECURE_HSTS_PRELOAD = HTTPS and env_bool("HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD or not HTTPS else ["security.W021"]
# Only behind a proxy that terminates TLS and sets X-Forwarded-Proto itself, overwriting what the client
# sent: a client reaching gunicorn directly could otherwise claim https. Such a proxy is the usual
# deployment of the Procfile's web process (and without the header the https redirect would loop).
TRUST_X_FORWARDED_PROTO = env_bool("TRUST_X_FORWARDED_PROTO", HTTPS)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUST_X_FORWARDED_PROTO else None
SESSION_COOKIE_HTTPONLY = True
# The site's scripts read the csrftoken cookie to send X-CSRFToken to the API, so it stays readable.
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Argon2 for new passwords; the others still verify older hashes, which are rehashed at the next login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# Failed logins (accounts/login_limit.py): this many per account and address, and per address whatever
# the account, within the window (seconds) from the first failure, then the login forms answer 429.
LOGIN_LIMIT_PER_ACCOUNT = env_int("LOGIN_LIMIT_PER_ACCOUNT", 5)
LOGIN_LIMIT_PER_ADDRESS = env_int("LOGIN_LIMIT_PER_ADDRESS", 20)
LOGIN_LIMIT_WINDOW = env_int("LOGIN_LIMIT_WINDOW", 15 * 60)
# Password reset requests (each may mail someone): per email address, and per asking address, within the window.
PASSWORD_RESET_LIMIT_PER_EMAIL = env_int("PASSWORD_RESET_LIMIT_PER_EMAIL", 3)
PASSWORD_RESET_LIMIT_PER_ADDRESS = env_int("PASSWORD_RESET_LIMIT_PER_ADDRESS", 10)
PASSWORD_RESET_LIMIT_WINDOW = env_int("PASSWORD_RESET_LIMIT_WINDOW", 3600)
# Outgoing mail (password reset): EMAIL_URL or EMAIL_HOST and friends; the console with DEBUG (config/mail.py).
_mail = mail_settings(debug=DEBUG)
EMAIL_BACKEND = _mail["EMAIL_BACKEND"]
DEFAULT_FROM_EMAIL = _mail["DEFAULT_FROM_EMAIL"]
SERVER_EMAIL = _mail["SERVER_EMAIL"]
EMAIL_TIMEOUT = _mail["EMAIL_TIMEOUT"]
EMAIL_HOST = _mail.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _mail.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _mail.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _mail.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _mail.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _mail.get("EMAIL_USE_SSL", False)
if "EMAIL_FILE_PATH" in _mail:
    EMAIL_FILE_PATH = _mail["EMAIL_FILE_PATH"]
# Reset links work this long (seconds); each also stops working once used or the password changes.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 24 * 3600)
# The addresses (or networks, e.g. 10.0.0.0/8) of the proxies in front, which append the client's address
# to X-Forwarded-For: the header is believed only from them (accounts/login_limit.py). The default, behind
# a TLS proxy, is a proxy on this machine; bind gunicorn to 127.0.0.1 (or a private address) so no
# client reaches it directly. Empty: the connection's address always.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", ["127.0.0.1", "::1"] if TRUST_X_FORWARDED_PROTO else [])
for _proxy in TRUSTED_PROXIES:
    try:
        ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES: {_proxy!r} is no address or network; list the proxies' addresses, comma-separated"
        ) from None

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
# Production serves collected files under content-hashed names (whitenoise caches them for a year,
# immutable) and needs `collectstatic` first (make stack does it); development serves from static/.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Recommender --------------------------------------------------------------
MODEL_ARTIFACT_DIR = Path(env_str("MODEL_ARTIFACT_DIR", str(VAR_DIR / "models")))
# "auto" picks the preset for the data size at each training; or default, large, tutorial.
RECOMMENDER_PRESET = env_str("RECOMMENDER_PRESET", "auto")
RECOMMENDER_EMBEDDING_DIM = env_int("RECOMMENDER_EMBEDDING_DIM", 64)
# Per-user top-N lists: their own Redis database, so cache clears never drop them.
RECOMMENDER_LISTS_URL = env_str("RECOMMENDER_LISTS_URL") or (_redis_db(REDIS_URL, 2) if REDIS_URL else "")
RECOMMENDER_LISTS_PREFIX = env_str("RECOMMENDER_LISTS_PREFIX", "rec")
RECOMMENDER_LIST_LENGTH = env_int("RECOMMENDER_LIST_LENGTH", 100)
# Users per list-refresh task: the refresh fans out as a Celery group of such chunks.
RECOMMENDER_LIST_CHUNK = env_int("RECOMMENDER_LIST_CHUNK", 10_000)
# "Popular" picks for people we know nothing about need at least this many ratings.
RECOMMENDER_POPULAR_MIN_RATINGS = env_int("RECOMMENDER_POPULAR_MIN_RATINGS", 20)
# Each new version is also measured under protocols R and T (two more trainings on their
# splits) up to this many ratings; above it the nightly run would take too long.
RECOMMENDER_PROTOCOL_MAX_RATINGS = env_int("RECOMMENDER_PROTOCOL_MAX_RATINGS", 5_000_000)
# They are measured once the new version is live (its publish step queues them).
# Trained versions whose files are kept for roll-back; older ones are deleted.
RECOMMENDER_KEEP_VERSIONS = env_int("RECOMMENDER_KEEP_VERSIONS", 5)
# Seconds the API keeps a user's finished picks body in the cache (recommender/api/picks_cache.py);
# 0 turns that cache off (bench/api_bench.py's cold rows). Changes of the user's own make it stale
# at once; this only bounds how long catalogue totals in it (counts, averages) can lag.
API_PICKS_CACHE_SECONDS = env_int("API_PICKS_CACHE_SECONDS", 300)

# --- TMDb posters and plots (manage.py fetch_tmdb); without a key nothing is fetched ---
TMDB_API_KEY = env_str("TMDB_API_KEY", "")
TMDB_API_URL = env_str("TMDB_API_URL", "https://api.themoviedb.org/3")
# TMDb allows about 40 requests a second; stay well below.
TMDB_REQUESTS_PER_SECOND = env_int("TMDB_REQUESTS_PER_SECOND", 4)
TMDB_CACHE_DIR = Path(env_str("TMDB_CACHE_DIR", str(VAR_DIR / "tmdb")))
# --- Online learning: impressions, online metrics, impression discounting, A/B ----
# Impressions (picks shown) are queued in this Redis (the lists' database by default) and flushed
# to PostgreSQL in batches by a scheduled task; with no Redis they are written at once.
RECOMMENDER_IMPRESSIONS_URL = env_str("RECOMMENDER_IMPRESSIONS_URL") or RECOMMENDER_LISTS_URL
# Off: nothing is recorded (bench/load_bench.py's row of today's page without impressions).
RECOMMENDER_IMPRESSIONS_ENABLED = env_bool("RECOMMENDER_IMPRESSIONS_ENABLED", True)
# Impressions older than this many days are deleted (the online metrics need the last window's).
RECOMMENDER_IMPRESSIONS_RETENTION_DAYS = env_int("RECOMMENDER_IMPRESSIONS_RETENTION_DAYS", 30)
# The queue holds at most this many pages' impressions (a stopped flusher never fills Redis).
RECOMMENDER_IMPRESSIONS_QUEUE_MAX = env_int("RECOMMENDER_IMPRESSIONS_QUEUE_MAX", 1_000_000)
# What a person did with a shown pick counts if it happened within this many days of the showing.
RECOMMENDER_ONLINE_WINDOW_DAYS = env_int("RECOMMENDER_ONLINE_WINDOW_DAYS", 7)
# A saved-for-later list, counted as a hit when a pick goes there: "app_label.Model.datetime_field"
# of a model with user and movie foreign keys, or empty when the site has none.
RECOMMENDER_WATCHLIST_MODEL = env_str("RECOMMENDER_WATCHLIST_MODEL", "")
# Impression discounting: each showing without an action in the last DAYS multiplies a pick's
# rank by (1 + STRENGTH), so picks ignored again and again make room for others. 0 turns it off.
RECOMMENDER_DISCOUNT_STRENGTH = float(env_str("RECOMMENDER_DISCOUNT_STRENGTH", "0.5") or 0)
RECOMMENDER_DISCOUNT_DAYS = env_int("RECOMMENDER_DISCOUNT_DAYS", 14)

# One format, with the request's or task's id, for Django, gunicorn and Celery (config/log_context.py).
LOGGING = logging_config(env_str("LOG_LEVEL") or "INFO")

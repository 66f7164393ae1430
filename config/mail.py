"""The outgoing mail settings (password reset), read from EMAIL_URL or the usual EMAIL_* variables.

EMAIL_URL names the backend and its server in one value:
    smtp://user:password@host:587   SMTP with STARTTLS (the submission port)
    smtps://user:password@host:465  SMTP over TLS from the first byte
    smtp://host:25?tls=false        plain SMTP, e.g. a relay on this machine
    console://                      mails are printed on the process's standard output
    file:///var/mail/movies         each mail is a file in that folder
    locmem://                       kept in memory (tests)
Without EMAIL_URL, EMAIL_HOST (with EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD,
EMAIL_USE_TLS, EMAIL_USE_SSL) means SMTP; with neither, DEBUG prints mails on the console and
production hands them to an SMTP server on this machine (localhost:25, Django's default: a local
mail relay). A mail that cannot be sent is logged with the user's id, and the reset page still
answers as if it had gone, so it never tells who has an account.
User name and password in the URL may be percent-encoded (an @ in a password is %40).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_str

SMTP = "django.core.mail.backends.smtp.EmailBackend"
_BACKENDS = {
    "smtp": SMTP,
    "smtps": SMTP,
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
}
_TRUE = {"1", "true", "yes", "on"}


def mail_settings_from_url(url: str) -> dict[str, Any]:
    """The EMAIL_* settings an EMAIL_URL stands for (see the module doc)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _BACKENDS:
        known = ", ".join(f"{name}://" for name in _BACKENDS)
        raise ImproperlyConfigured(f"EMAIL_URL: unknown scheme {scheme!r}; use one of {known}")
    found: dict[str, Any] = {"EMAIL_BACKEND": _BACKENDS[scheme]}
    if scheme == "file":
        if not parts.path:
            raise ImproperlyConfigured("EMAIL_URL: file:// needs a folder, e.g. file:///var/mail/movies")
        found["EMAIL_FILE_PATH"] = unquote(parts.path)
    if scheme not in ("smtp", "smtps"):
        return found
    if not parts.hostname:
        raise ImproperlyConfigured("EMAIL_URL: an smtp:// URL needs a host, e.g. smtp://user:pass@mail.example.org:587")
    query = {name.lower(): values[-1].lower() for name, values in parse_qs(parts.query).items()}
    ssl = scheme == "smtps" or query.get("ssl", "") in _TRUE
    # STARTTLS unless told otherwise or already on TLS: a password never crosses in the clear by default.
    tls = not ssl and query.get("tls", "true") in _TRUE
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured("EMAIL_URL: the port is not a number") from None
    found.update(
        EMAIL_HOST=parts.hostname,
        EMAIL_PORT=port or (465 if ssl else 587 if tls else 25),
        EMAIL_HOST_USER=unquote(parts.username or ""),
        EMAIL_HOST_PASSWORD=unquote(parts.password or ""),
        EMAIL_USE_TLS=tls,
        EMAIL_USE_SSL=ssl,
    )
    return found


def mail_settings(*, debug: bool) -> dict[str, Any]:
    """The mail settings from the environment: EMAIL_URL, else EMAIL_HOST and friends, else the defaults above."""
    sender = env_str("DEFAULT_FROM_EMAIL") or "Movies <noreply@localhost>"
    common = {
        "DEFAULT_FROM_EMAIL": sender,
        "SERVER_EMAIL": env_str("SERVER_EMAIL") or sender,
        "EMAIL_TIMEOUT": env_int("EMAIL_TIMEOUT", 10),
    }
    url = env_str("EMAIL_URL") or ""
    if url:
        return {**common, **mail_settings_from_url(url)}
    host = env_str("EMAIL_HOST") or ""
    if host:
        ssl = env_bool("EMAIL_USE_SSL", False)
        tls = env_bool("EMAIL_USE_TLS", not ssl)
        return {
            **common,
            "EMAIL_BACKEND": SMTP,
            "EMAIL_HOST": host,
            "EMAIL_PORT": env_int("EMAIL_PORT", 465 if ssl else 587 if tls else 25),
            "EMAIL_HOST_USER": env_str("EMAIL_HOST_USER") or "",
            "EMAIL_HOST_PASSWORD": env_str("EMAIL_HOST_PASSWORD") or "",
            "EMAIL_USE_TLS": tls,
            "EMAIL_USE_SSL": ssl,
        }
    if debug:
        return {**common, "EMAIL_BACKEND": _BACKENDS["console"]}
    return {**common, "EMAIL_BACKEND": SMTP, "EMAIL_HOST": "localhost", "EMAIL_PORT": 25}

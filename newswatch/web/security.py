"""Who may use the web page: loopback by default, a token elsewhere, and CSRF tokens on every action."""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit

CSRF_COOKIE = "newswatch_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
TOKEN_COOKIE = "newswatch_token"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")


class WebConfigError(ValueError):
    """The web page cannot be served safely as configured."""


def is_loopback(host: str) -> bool:
    if host.strip("[]") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_token_off_loopback(host: str, token: str | None) -> None:
    if not is_loopback(host) and not token:
        raise WebConfigError(
            f"refusing to serve on {host}: anyone who can reach that address could label items and retrain the "
            "model; set [web] token in the config or NEWSWATCH_WEB_TOKEN, or bind to 127.0.0.1")


def allowed_hosts(host: str, base_url: str | None) -> list[str] | None:
    """Host headers accepted on a loopback bind (a DNS-rebinding page cannot pose as localhost);
    None (any host) elsewhere, where the token guards the door instead."""
    if not is_loopback(host):
        return None
    names = list(LOOPBACK_NAMES)
    if base_url and urlsplit(base_url).hostname:
        names.append(urlsplit(base_url).hostname)  # type: ignore[arg-type]
    return names


def same(secret: str | None, given: str | None) -> bool:
    return bool(secret) and bool(given) and hmac.compare_digest(secret.encode(), given.encode())  # type: ignore[union-attr]


def bearer(authorization: str | None) -> str | None:
    scheme, _, value = (authorization or "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def safe_next(target: str | None, default: str = "/") -> str:
    """Redirect only within this site: a path, never another host (//evil.example or a full URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target

"""The Passport 1.4 round trip of an MSNP8+ sign-in, as a client makes it
([MS-PASS] §2.2): ``GET`` the nexus for ``PassportURLs``, then ``GET`` its
``DALogin`` URL with an ``Authorization: Passport1.4 …`` header, and read the ticket from
``Authentication-Info``. Standard library only (``http.client``), so the header names
are seen exactly as the server spelt them. Every request and answer goes into the
test's transcript, the password and the ticket masked."""

from __future__ import annotations

import http.client
import urllib.parse
from dataclasses import dataclass

from msgr.testing.wire import Transcript

__all__ = ["HttpAnswer", "get", "nexus", "login", "authorization", "ticket_of", "passport_urls"]

#: The fixed part every client sends before ``sign-in``.
ORG = "OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom"
LABEL = "passport"


@dataclass(frozen=True)
class HttpAnswer:
    """An HTTP answer: ``status`` and ``headers`` as sent (names in their own case,
    in order)."""

    url: str
    status: int
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str, *, exact: bool = False) -> str | None:
        """The first header called ``name`` (case-insensitively unless ``exact``)."""
        for key, value in self.headers:
            if key == name or (not exact and key.lower() == name.lower()):
                return value
        return None


def _masked(value: str) -> str:
    """An ``Authorization`` or ``Authentication-Info`` value with the password and the
    ticket hidden."""
    parts = []
    for part in value.split(","):
        key = part.split("=", 1)[0].strip()
        if key in ("pwd", "from-PP") or key.endswith(" pwd"):
            part = f"{part.split('=', 1)[0]}=***"
        parts.append(part)
    return ",".join(parts)


def get(url: str, transcript: Transcript, *, headers: dict[str, str] | None = None, timeout: float = 10.0) -> HttpAnswer:
    """``GET url`` (http or https); the request and the answer's status and Passport
    headers go into ``transcript``. ``OSError`` (and ``http.client`` errors) pass
    through, after a note."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    conn_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = conn_class(parts.hostname, parts.port, timeout=timeout)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    shown = "".join(f" ({k}: {_masked(v)})" for k, v in (headers or {}).items())
    transcript.note(LABEL, f"HTTP GET {url}{shown}")
    try:
        conn.request("GET", target, headers=headers or {})
        response = conn.getresponse()
        response.read()
        answer = HttpAnswer(url, response.status, tuple(response.getheaders()))
    except (OSError, http.client.HTTPException) as exc:
        transcript.note(LABEL, f"HTTP GET {url} failed: {exc}")
        raise
    finally:
        conn.close()
    passport = [f"{k}: {_masked(v)}" for k, v in answer.headers if k.lower() in ("passporturls", "authentication-info", "www-authenticate", "location")]
    transcript.note(LABEL, f"HTTP {answer.status}" + "".join(f", {h}" for h in passport))
    return answer


def passport_urls(value: str) -> dict[str, str]:
    """The ``key=value`` pairs of a ``PassportURLs`` header."""
    pairs = {}
    for part in value.split(","):
        key, eq, val = part.partition("=")
        if eq:
            pairs[key.strip()] = val.strip()
    return pairs


def nexus(url: str, transcript: Transcript, *, timeout: float = 10.0) -> tuple[HttpAnswer, str | None]:
    """Asks the nexus; returns its answer and the login URL from ``DALogin`` (with
    ``https://`` prepended when it has no scheme, as clients do), or None."""
    answer = get(url, transcript, timeout=timeout)
    value = answer.header("PassportURLs")
    if value is None:
        return answer, None
    login_url = passport_urls(value).get("DALogin")
    if login_url and not login_url.startswith(("http://", "https://")):
        login_url = "https://" + login_url
    return answer, login_url


def authorization(email: str, password: str, challenge: str) -> str:
    """The ``Authorization`` value of the login request: account and
    password URL-encoded, as the official client sends them."""
    quote = urllib.parse.quote
    return f"Passport1.4 {ORG},sign-in={quote(email, safe='')},pwd={quote(password, safe='')},{challenge}"


def ticket_of(answer: HttpAnswer) -> str | None:
    """The ticket in ``Authentication-Info: Passport1.4 da-status=success,…,from-PP='…'``
    (the text between the quotes), or None."""
    value = answer.header("Authentication-Info")
    if value is None or "da-status=success" not in value:
        return None
    start = value.find("from-PP='")
    if start < 0:
        return None
    start += len("from-PP='")
    end = value.find("'", start)
    return value[start:end] if end >= 0 else value[start:]


def login(login_url: str, email: str, password: str, challenge: str, transcript: Transcript, *, timeout: float = 10.0) -> tuple[HttpAnswer, str | None]:
    """The login request; returns the answer and the ticket (None when refused)."""
    answer = get(login_url, transcript, headers={"Authorization": authorization(email, password, challenge)}, timeout=timeout)
    return answer, ticket_of(answer)

"""Cross-site request forgery: console forms must come from the console itself.

The session cookie is SameSite=Strict already; on top of that every form of a signed-in page
carries the session's own token, and every post must come from this origin (which also guards
the sign-in form, before there is a session to hold a token). "This origin" is `PUBLIC_ORIGIN`
when configured (a proxy may rewrite `Host`), else the request's own `Host`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException

from entrypoints.http.console.session import Agent

#: `Sec-Fetch-Site` values of a request a page of this origin made (or the user typed).
_SAME_SITE_FETCHES = frozenset({"same-origin", "none"})


@dataclass(frozen=True, slots=True)
class SameOrigin:
    """`public_origin`: `scheme://host[:port]` as browsers reach the console (lower case), or
    None to trust the request's `Host`."""

    public_origin: str | None = None

    def ensure(self, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        """Browsers name the page a form was posted from; it must be one of ours.

        A client that sends neither header (curl, a script) is no browser a forged page could
        drive.
        """
        fetch_site = connection.headers.get("sec-fetch-site")
        if fetch_site is not None and fetch_site not in _SAME_SITE_FETCHES:
            raise PermissionDeniedException("this form may only be posted from the console itself")
        origin = connection.headers.get("origin")
        if origin is not None and not self._ours(origin, connection):
            raise PermissionDeniedException("this form may only be posted from the console itself")

    def _ours(self, origin: str, connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
        if self.public_origin is not None:
            return origin.strip().lower() == self.public_origin
        return urlsplit(origin).netloc == connection.headers.get("host")


def ensure_csrf_token(agent: Agent, sent: object) -> None:
    """A form posted with the session must carry the session's own token. (Compared as bytes:
    `compare_digest` refuses non-ASCII text with a TypeError, which was a 500.)"""
    if not isinstance(sent, str) or not secrets.compare_digest(
        sent.encode(), agent.csrf_token.encode()
    ):
        raise PermissionDeniedException("the form has expired; reload the page and try again")

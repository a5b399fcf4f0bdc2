"""Secrets kept out of text: the password of a URL masked, known secret values scrubbed."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
#: `user:password@` in anything that looks like a URL, parseable or not, with or without `//`.
_USERINFO_PASSWORD = re.compile(r"(?P<user>(?://)?[^/@:\s]*):(?P<password>[^/@\s]*)@")


def masked_url(url: str) -> str:
    """`url` with its password replaced by `***` (the user name stays: it says who connects).

    Our own, not SQLAlchemy's `make_url(...).render_as_string(hide_password=True)`: these URLs
    are also Redis, AMQP, HTTP and OTLP ones, and the ones shown in errors are the malformed
    ones, which SQLAlchemy cannot parse; a text rule masks those too.
    """
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # an unparseable netloc (a bad port, a broken IPv6 literal)
        password = None
    if password is not None:
        user, _, host = parts.netloc.rpartition("@")
        name = user.split(":", 1)[0]
        url = urlunsplit(parts._replace(netloc=f"{name}:{MASK}@{host}"))
    return _USERINFO_PASSWORD.sub(lambda m: f"{m['user']}:{MASK}@", url)


def scrubbed(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each secret (ignoring blanks) replaced by `***`."""
    for secret in sorted({s for s in secrets if s and s.strip()}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def redacted(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` (an error message, say) with the password of every URL in it masked and every
    occurrence of each secret scrubbed."""
    return scrubbed(_USERINFO_PASSWORD.sub(lambda m: f"{m['user']}:{MASK}@", text), secrets)

"""The SSRF guard of outbound webhooks: which URLs a subscription may make the hub call."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class TargetRefused(ValueError):
    """Raised when a webhook URL is not one the hub may call, saying why."""


def check_shape(url: str) -> str:
    """The URL's host when it is an absolute http(s) URL without credentials. Raises
    `TargetRefused`."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing it is the check: a bad port raises
    except ValueError as e:
        raise TargetRefused(f"not a valid URL: {e}") from None
    if parts.scheme not in {"http", "https"}:
        raise TargetRefused("only http and https URLs may be subscribed")
    if not parts.hostname:
        raise TargetRefused("the URL names no host")
    if parts.username or parts.password:
        raise TargetRefused("credentials in the URL are not accepted; sign with the secret")
    return parts.hostname


def is_private(address: str) -> bool:
    """Loopback, private, link-local (cloud metadata), unspecified, multicast or reserved."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_unspecified
        or ip.is_multicast or ip.is_reserved
    )  # fmt: skip


async def check_target(url: str, *, allow_private: bool) -> None:
    """Refuse a URL that is not http(s), or whose host is or resolves to an address the hub
    must not call (unless `allow_private`). Checked when subscribing and again before every
    send, since a name may resolve elsewhere later. Raises `TargetRefused`."""
    host = check_shape(url)
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as e:  # UnicodeError: a name IDNA cannot encode
        raise TargetRefused(f"the host {host!r} does not resolve: {e}") from None
    for *_, sockaddr in infos:
        if is_private(str(sockaddr[0])):
            raise TargetRefused(
                f"{host} resolves to {sockaddr[0]}, a private, loopback or link-local address"
            )

"""`orderhub keys create | list | revoke | rotate`: what an operator does with API keys. A secret
is printed once, alone on the last line; neither a secret nor its hash is ever printed again."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime, timedelta
from typing import Any

from entrypoints.container import Container, build_container, dispose_engines
from entrypoints.settings import Settings
from ports.api_keys import ApiKeyStore, KeyRecord, Principal, RetiredKey, Role, Source, UnknownKey

_HINT = "hint: `orderhub keys list` shows every key's id and state"


def run_keys(settings: Settings, args: argparse.Namespace) -> int:
    container = build_container(settings)

    async def run() -> int:
        try:
            return await _ACTIONS[args.keys_command](container.api_keys(), container, args)
        finally:
            await dispose_engines(container)

    return asyncio.run(run())


async def _create(keys: ApiKeyStore, container: Container, args: argparse.Namespace) -> int:
    try:
        principal, secret = await keys.create(
            Role(args.role),
            args.channel,
            args.label,
            frozenset(Source(s) for s in args.source or ()),
            _seconds(args.expires_in),
        )
    except ValueError as e:
        print(f"orderhub: {e}", file=sys.stderr)
        return 2
    expiry = ""
    if args.expires_in:
        expiry = f", expiring {_when(container.clock().now() + timedelta(seconds=args.expires_in))}"
    print(
        f"created {principal.role} key {principal.key_id}{_scope(principal)}{expiry}; "
        "it is shown only once:"
    )
    print(secret)
    return 0


async def _list(keys: ApiKeyStore, container: Container, args: argparse.Namespace) -> int:
    records, now = await keys.list_keys(), container.clock().now()
    if args.json:
        print(json.dumps([_as_json(r, now) for r in records], indent=2))
        return 0
    if not records:
        print("no keys yet; hint: `orderhub keys create --role agent` makes one")
        return 0
    header = ("ID", "ROLE", "SCOPE", "LABEL", "CREATED", "EXPIRES", "REVOKED", "OLD SECRET UNTIL", "STATE")  # fmt: skip
    rows = [header, *(_row(r, now) for r in records)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


async def _revoke(keys: ApiKeyStore, container: Container, args: argparse.Namespace) -> int:
    asked_at = container.clock().now()
    try:
        record = await keys.revoke(args.key_id)
    except UnknownKey as e:
        print(f"orderhub keys revoke: {e}; {_HINT}", file=sys.stderr)
        return 1
    assert record.revoked_at is not None
    done = "was already revoked" if record.revoked_at < asked_at else "revoked"
    print(
        f"{record.role} key {record.key_id}{_scope(record)} {done} at "
        f"{_when(record.revoked_at)}; every API process refuses it within 5 s"
    )
    return 0


async def _rotate(keys: ApiKeyStore, container: Container, args: argparse.Namespace) -> int:
    try:
        principal, secret = await keys.rotate(
            args.key_id, timedelta(seconds=args.grace), _seconds(args.expires_in)
        )
    except UnknownKey as e:
        print(f"orderhub keys rotate: {e}; {_HINT}", file=sys.stderr)
        return 1
    except RetiredKey as e:
        print(f"orderhub keys rotate: {e}; {_HINT}", file=sys.stderr)
        return 1
    now = container.clock().now()
    old = (
        f"the old secret is accepted until {_when(now + timedelta(seconds=args.grace))}"
        if args.grace
        else "the old secret is refused from now on"
    )
    print(
        f"rotated {principal.role} key {principal.key_id}{_scope(principal)}: {old}; "
        "the new secret is shown only once:"
    )
    print(secret)
    return 0


_ACTIONS = {"create": _create, "list": _list, "revoke": _revoke, "rotate": _rotate}


def _seconds(value: int | None) -> timedelta | None:
    return timedelta(seconds=value) if value is not None else None


def _scope(key: Principal | KeyRecord) -> str:
    if key.channel:
        return f" for channel {key.channel}"
    if key.sources:
        return f" for {', '.join(sorted(key.sources))}"
    return ""


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ") if moment is not None else "-"


def _row(record: KeyRecord, now: datetime) -> tuple[str, ...]:
    scope = record.channel or ",".join(sorted(record.sources or ())) or "-"
    if record.role is Role.SYSTEM and record.sources is None:
        scope = "any(unbound)"  # from before sources: replace it (docs/configuration.md)
    label = "".join(c if c.isprintable() else "?" for c in record.label or "-")
    grace = record.grace_until if record.grace_until and record.grace_until > now else None
    return (
        str(record.key_id), str(record.role), scope, label, _when(record.created_at),
        _when(record.expires_at), _when(record.revoked_at), _when(grace), record.state(now),
    )  # fmt: skip


def _as_json(record: KeyRecord, now: datetime) -> dict[str, Any]:
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment is not None else None

    return {
        "id": str(record.key_id),
        "role": str(record.role),
        "channel": record.channel,
        "sources": sorted(record.sources) if record.sources is not None else None,
        "label": record.label,
        "created_at": iso(record.created_at),
        "expires_at": iso(record.expires_at),
        "revoked_at": iso(record.revoked_at),
        "rotations": record.generation,
        "old_secret_until": iso(record.grace_until),
        "state": record.state(now),
    }

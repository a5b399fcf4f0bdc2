"""The `orderhub` command as an operator runs it: migrate, keys create, bad configuration."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ORDERHUB = str(Path(sys.executable).with_name("orderhub"))


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ORDERHUB, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/hub.db"}


def test_migrate_is_safe_to_run_twice(env: dict[str, str]) -> None:
    first, second = run("migrate", env=env), run("migrate", env=env)
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert "up to date" in second.stdout


def test_a_new_key_is_printed_once_on_the_last_line_and_only_its_hash_is_kept(
    env: dict[str, str], tmp_path: Path
) -> None:
    run("migrate", env=env)
    created = run("keys", "create", "--role", "channel", "--channel", "web", env=env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("ohk_")
    assert len(key) > 40
    with sqlite3.connect(tmp_path / "hub.db") as db:
        stored = db.execute("SELECT key_hash, role, channel FROM api_keys").fetchall()
    assert stored == [(hashlib.sha256(key.encode()).hexdigest(), "channel", "web")]
    assert key not in (tmp_path / "hub.db").read_bytes().decode("latin-1")


def test_a_channel_key_needs_its_channel(env: dict[str, str]) -> None:
    run("migrate", env=env)
    refused = run("keys", "create", "--role", "channel", env=env)
    assert refused.returncode == 2
    assert "--channel" in refused.stderr


def test_a_bad_setting_stops_the_command_with_a_message_naming_it(env: dict[str, str]) -> None:
    refused = run("migrate", env={**env, "RESERVATION_TTL_SECONDS": "half an hour"})
    assert refused.returncode == 2
    assert "RESERVATION_TTL_SECONDS" in refused.stderr


def test_a_system_key_is_stored_with_the_sources_it_speaks_for(
    env: dict[str, str], tmp_path: Path
) -> None:
    run("migrate", env=env)
    created = run(
        "keys", "create", "--role", "system", "--source", "warehouse", "--source", "erp", env=env
    )
    assert created.returncode == 0, created.stderr
    assert "for erp, warehouse" in created.stdout
    with sqlite3.connect(tmp_path / "hub.db") as db:
        stored = db.execute("SELECT role, channel, sources FROM api_keys").fetchall()
    assert stored == [("system", None, "erp,warehouse")]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--role", "system"), "a system key needs --source"),
        (("--role", "channel", "--channel", "web", "--source", "erp"), "only a system key"),
        (("--role", "system", "--source", "fax"), "invalid choice: 'fax'"),
    ],
    ids=["system-without-source", "source-on-a-channel-key", "unknown-source"],
)
def test_a_key_s_sources_are_refused_unless_a_system_key_names_known_ones(
    env: dict[str, str], tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    run("migrate", env=env)
    refused = run("keys", "create", *args, env=env)
    assert refused.returncode == 2
    assert says in refused.stderr
    with sqlite3.connect(tmp_path / "hub.db") as db:
        assert db.execute("SELECT count(*) FROM api_keys").fetchone() == (0,)


def created(env: dict[str, str], *args: str) -> tuple[str, str]:
    """(id, secret) of a key made with `keys create`."""
    done = run("keys", "create", *args, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.split(" key ", 1)[1].split()[0].rstrip(";,"), done.stdout.splitlines()[-1]


def listed(env: dict[str, str]) -> list[dict[str, object]]:
    done = run("keys", "list", "--json", env=env)
    assert done.returncode == 0, done.stderr
    keys: list[dict[str, object]] = json.loads(done.stdout)
    return keys


def test_keys_list_shows_every_key_s_scope_dates_and_state_and_never_a_secret(
    env: dict[str, str],
) -> None:
    run("migrate", env=env)
    web_id, web = created(env, "--role", "channel", "--channel", "web", "--label", "shop")
    erp_id, erp = created(env, "--role", "system", "--source", "erp", "--expires-in", "3600")
    assert run("keys", "revoke", web_id, env=env).returncode == 0

    table = run("keys", "list", env=env)

    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split()[:4] == ["ID", "ROLE", "SCOPE", "LABEL"]
    assert [row.split()[:4] for row in rows] == [
        [web_id, "channel", "web", "shop"],
        [erp_id, "system", "erp", "-"],
    ]
    assert rows[0].split()[-1] == "revoked"
    assert rows[1].split()[-1] == "active"
    as_json = listed(env)
    assert [(k["id"], k["state"], k["sources"]) for k in as_json] == [
        (web_id, "revoked", None),
        (erp_id, "active", ["erp"]),
    ]
    assert as_json[1]["expires_at"] is not None
    for secret in (web, erp):
        for said in (table.stdout, json.dumps(as_json)):
            assert secret not in said
            assert hashlib.sha256(secret.encode()).hexdigest() not in said


def test_revoking_is_idempotent_and_an_unknown_id_is_one_line_and_fails(
    env: dict[str, str],
) -> None:
    run("migrate", env=env)
    key_id, _ = created(env, "--role", "agent")
    first, second = run("keys", "revoke", key_id, env=env), run("keys", "revoke", key_id, env=env)
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert "was already revoked" in second.stdout

    unknown = run("keys", "revoke", "9f2c6c1e-0000-4000-8000-000000000001", env=env)
    assert unknown.returncode == 1
    assert unknown.stderr.strip().count("\n") == 0
    assert "no key has the id 9f2c6c1e-0000-4000-8000-000000000001" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    malformed = run("keys", "revoke", "not-a-key-id", env=env)
    assert malformed.returncode == 2
    assert "a key id" in malformed.stderr


def test_rotating_prints_a_new_secret_for_the_same_key_and_keeps_the_old_for_its_grace(
    env: dict[str, str],
) -> None:
    run("migrate", env=env)
    key_id, old = created(env, "--role", "channel", "--channel", "web")

    rotated = run("keys", "rotate", key_id, "--grace", "600", env=env)

    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.strip().splitlines()[-1]
    assert new.startswith("ohk_")
    assert new != old
    assert f"rotated channel key {key_id} for channel web" in rotated.stdout
    assert "the old secret is accepted until" in rotated.stdout
    [key] = listed(env)
    assert (key["id"], key["rotations"], key["state"]) == (key_id, 1, "active")
    assert key["old_secret_until"] is not None

    at_once = run("keys", "rotate", key_id, "--grace", "0", env=env)
    assert "the old secret is refused from now on" in at_once.stdout
    assert [k["old_secret_until"] for k in listed(env)] == [None]


def test_a_revoked_key_cannot_be_rotated_back(env: dict[str, str]) -> None:
    run("migrate", env=env)
    key_id, _ = created(env, "--role", "agent")
    run("keys", "revoke", key_id, env=env)

    refused = run("keys", "rotate", key_id, env=env)

    assert refused.returncode == 1
    assert f"key {key_id} is revoked; create a new key instead" in refused.stderr
    assert "ohk_" not in refused.stdout + refused.stderr

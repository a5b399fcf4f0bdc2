"""The `orderhub` command as an operator runs it: migrate, keys create, bad configuration."""

from __future__ import annotations

import hashlib
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

"""`orderhub --help`: every command and every option is described, and the settings that
matter are listed with their defaults."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from entrypoints.cli import COMMANDS
from entrypoints.cli_parser import parser


def commands(root: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for action in root._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{root.prog} {name}".removeprefix("orderhub "), sub
                yield from commands(sub)


def test_every_command_and_every_option_has_help() -> None:
    undescribed = []
    for name, command in commands(parser()):
        if not command.description:
            undescribed.append(name)
        for action in command._actions:
            if action.option_strings and not action.help:
                undescribed.append(f"{name} {action.option_strings[0]}")
    assert undescribed == []


def test_every_command_of_the_cli_is_in_the_help() -> None:
    listed = {name.split()[-1] for name, _ in commands(parser()) if " " not in name.strip()}
    assert set(COMMANDS) <= listed


def test_the_help_lists_the_settings_that_matter_and_points_at_orderhub_config() -> None:
    text = parser().format_help()
    for setting in ("DATABASE_URL", "BROKER_URL", "LOG_LEVEL", "LOG_FORMAT", "ERP_URL"):
        assert setting in text
    assert "sqlite+aiosqlite:///./orderhub.db" in text
    assert "memory://" in text
    assert "orderhub config" in text

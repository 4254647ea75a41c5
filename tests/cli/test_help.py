"""A snapshot of every command's --help: a changed option, default or help text shows up in review.

CODELENS_UPDATE_SNAPSHOTS=1 rewrites the snapshots (then read the diff).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import typer

from codelens.cli.main import app, main

SNAPSHOTS = Path(__file__).parent / "snapshots"


def _commands(command, prefix: tuple[str, ...] = ()):
    """Every command path of the app (``("scan",)``, ``("baseline", "create")``), groups included."""
    yield prefix
    for name in sorted(getattr(command, "commands", {})):
        yield from _commands(command.commands[name], (*prefix, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


@pytest.mark.parametrize("words", COMMANDS, ids=lambda words: "-".join(words) or "codelens")
def test_help_matches_its_snapshot(words, capsys, monkeypatch):
    # A fixed width and no colour: the text rich lays out is the same on every terminal.
    monkeypatch.setenv("COLUMNS", "110")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "dumb")
    assert main([*words, "--help"]) == 0
    text = capsys.readouterr().out
    path = SNAPSHOTS / f"help-{'-'.join(words) or 'codelens'}.txt"
    if os.environ.get("CODELENS_UPDATE_SNAPSHOTS") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"{path} is missing: run the tests once with CODELENS_UPDATE_SNAPSHOTS=1"
    assert text == path.read_text(encoding="utf-8"), f"`codelens {' '.join(words)} --help` differs from {path.name}"


def test_every_command_has_a_snapshot_and_no_snapshot_is_stale():
    expected = {f"help-{'-'.join(words) or 'codelens'}.txt" for words in COMMANDS}
    assert {p.name for p in SNAPSHOTS.glob("help-*.txt")} == expected

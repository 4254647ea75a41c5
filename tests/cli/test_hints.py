"""Every command-line flag an error hint names exists: a hint that sends a user to a missing flag is a bug."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import typer

from codelens.cli.main import app

ROOT = Path(__file__).resolve().parents[2] / "codelens"
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
OTHER_TOOL = re.compile(r"`(?:git|pip|huggingface-cli|ray) [^`]*`")
"""Commands of other tools quoted in a hint (`git fetch --unshallow`): their flags are not ours."""


def hint_texts() -> list[tuple[str, str]]:
    """(file, the literal text of the hint=... argument) for every hint in the package."""
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "hint":
                        parts = [n.value for n in ast.walk(keyword.value)
                                 if isinstance(n, ast.Constant) and isinstance(n.value, str)]
                        out.append((path.relative_to(ROOT.parent).as_posix(), " ".join(parts)))
    return out


def cli_flags() -> set[str]:
    flags: set[str] = set()
    stack = [typer.main.get_command(app)]
    while stack:
        command = stack.pop()
        for param in command.params:
            flags.update(name for name in (*param.opts, *param.secondary_opts) if name.startswith("--"))
        stack.extend(getattr(command, "commands", {}).values())
    return flags


def test_hints_name_only_flags_that_exist():
    texts = hint_texts()
    assert len(texts) > 50, "the AST walk finds the hints"
    known = cli_flags()
    missing = sorted({(path, flag) for path, text in texts for flag in FLAG.findall(OTHER_TOOL.sub("", text))
                      if flag not in known})
    assert not missing, f"hints name flags no command has: {missing}"


def test_the_check_would_catch_a_missing_flag():
    assert "--no-such-flag" not in cli_flags() and "--staged" in cli_flags() and "--target-modules" in cli_flags()

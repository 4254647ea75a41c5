"""Changed lines from real git repositories built in tmp folders, and the functions they select."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from codelens.core import CodeUnit, Span
from codelens.errors import CodelensError
from codelens.gitscope import changed_lines, parse_diff, select_changed_units

FIVE = "one\ntwo\nthree\nfour\nfive\n"


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch, tmp_path):
    """No user or system git config, and no repository above tmp_path, for git here and in the code."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)


def git(root: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", *args],
        cwd=root, capture_output=True, check=True, text=True,
    )
    return result.stdout


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def repo(tmp_path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write(root, "a.py", FIVE)
    write(root, "b.py", FIVE)
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    return root


def test_not_a_repository_is_an_error_with_the_fix(tmp_path):
    with pytest.raises(CodelensError) as caught:
        changed_lines(tmp_path, None, staged=True)
    assert caught.value.message == f"{tmp_path} is not inside a git work tree"
    assert "drop --staged / --diff-base" in caught.value.hint


def test_staged_and_unstaged_changes_are_told_apart(repo):
    write(repo, "a.py", "one\nTWO\nthree\nfour\nfive\n")
    git(repo, "add", "a.py")
    write(repo, "a.py", "one\nTWO\nthree\nFOUR\nfive\n")
    write(repo, "b.py", "zero\n" + FIVE)
    write(repo, "new.py", "fresh\n")
    assert changed_lines(repo, None, staged=True) == {"a.py": {2}}
    assert changed_lines(repo, None, staged=False) == {"a.py": {2, 4}, "b.py": {1}, "new.py": None}
    git(repo, "add", "new.py")
    assert changed_lines(repo, None, staged=True) == {"a.py": {2}, "new.py": None}


def test_repository_without_commits(tmp_path):
    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "-q")
    write(root, "a.py", FIVE)
    write(root, "untracked.py", "x\n")
    git(root, "add", "a.py")
    assert changed_lines(root, None, staged=True) == {"a.py": None}
    assert changed_lines(root, None, staged=False) == {"a.py": None, "untracked.py": None}
    with pytest.raises(CodelensError) as caught:
        changed_lines(root, "a.py", staged=False)
    assert caught.value.message == f"unknown git revision 'a.py' in {root}"


def test_diff_base_covers_the_branch_since_the_merge_base(repo):
    git(repo, "checkout", "-q", "-b", "feature")
    write(repo, "a.py", "one\ntwo\nTHREE\nfour\nfive\n")
    git(repo, "commit", "-q", "-am", "feature edit")
    git(repo, "checkout", "-q", "main")
    write(repo, "b.py", "one\nchanged on main\nthree\nfour\nfive\n")
    git(repo, "commit", "-q", "-am", "main moves on")
    git(repo, "checkout", "-q", "feature")
    write(repo, "a.py", "one\ntwo\nTHREE\nfour\nFIVE\n")
    write(repo, "c.py", "untracked\n")
    write(repo, ".gitignore", "ignored.py\n")
    write(repo, "ignored.py", "x\n")
    # b.py changed only on main after the branch point: not this branch's change
    assert changed_lines(repo, "main", staged=False) == {"a.py": {3, 5}, "c.py": None, ".gitignore": None}
    assert changed_lines(repo, "main", staged=True) == {"a.py": {3}}
    assert changed_lines(repo, "HEAD", staged=False) == {"a.py": {5}, "c.py": None, ".gitignore": None}


def test_unknown_ref_is_an_error_with_the_fix(repo):
    for ref in ("no-such-branch", "--output=x"):
        with pytest.raises(CodelensError) as caught:
            changed_lines(repo, ref, staged=False)
        assert caught.value.message == f"unknown git revision {ref!r} in {repo}"
        assert "git fetch origin main" in caught.value.hint


def test_renamed_files_keep_their_unchanged_lines_unchanged(repo):
    git(repo, "mv", "a.py", "renamed.py")
    git(repo, "mv", "b.py", "also moved.py")
    write(repo, "also moved.py", "one\ntwo\nthree\nfour\n5\n")
    assert changed_lines(repo, None, staged=False) == {"renamed.py": set(), "also moved.py": {5}}


def test_deleted_lines_mark_both_sides_of_the_gap(repo):
    write(repo, "a.py", "one\nfour\nfive\n")
    write(repo, "b.py", "two\nthree\nfour\nfive\n")
    git(repo, "add", "a.py", "b.py")
    write(repo, "a.py", "one\nfive\n")
    # a.py's staged content lost lines 2-3 of five; the working tree also lost "four"
    assert changed_lines(repo, None, staged=True) == {"a.py": {1, 2}, "b.py": {1}}
    assert changed_lines(repo, None, staged=False) == {"a.py": {1, 2}, "b.py": {1}}
    git(repo, "rm", "-q", "-f", "b.py")
    assert changed_lines(repo, None, staged=True) == {"a.py": {1, 2}}


def test_odd_file_names_and_a_subfolder_root(repo):
    write(repo, "dir with space/ünïcode näme.py", FIVE)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "odd names")
    write(repo, "dir with space/ünïcode näme.py", "one\ntwo\n3\nfour\nfive\n")
    write(repo, "dir with space/new\tfile é.py", "x\n")
    write(repo, "a.py", "1\ntwo\nthree\nfour\nfive\n")
    expected = {"ünïcode näme.py": {3}, "new\tfile é.py": None}
    assert changed_lines(repo / "dir with space", None, staged=False) == expected
    assert changed_lines(repo, None, staged=False) == {
        "a.py": {1}, **{f"dir with space/{name}": lines for name, lines in expected.items()}
    }


def test_parse_diff_handles_quoting_and_content_that_looks_like_headers():
    text = "\n".join([
        'diff --git "a/q\\"\\303\\251.py" "b/q\\"\\303\\251.py"',
        "index 1..2 100644",
        '--- "a/q\\"\\303\\251.py"',
        '+++ "b/q\\"\\303\\251.py"',
        "@@ -1,0 +2,2 @@ ctx",
        "+++ this added line looks like a header",
        "+diff --git nonsense",
        "@@ -9 +10 @@",
        "-old",
        "+new",
        "diff --git a/gone.py b/gone.py",
        "deleted file mode 100644",
        "--- a/gone.py",
        "+++ /dev/null",
        "@@ -1,3 +0,0 @@",
        "-x",
        "diff --git a/with space.py b/with space.py",
        "new file mode 100644",
        "--- /dev/null",
        "+++ b/with space.py\t",
        "@@ -0,0 +1 @@",
        "+x",
        "",
    ])
    assert parse_diff(text) == {'q"é.py': {2, 3, 10}, "with space.py": None}


def _unit(path: str, start: int, end: int, decorators: tuple[int, ...] = ()) -> CodeUnit:
    return CodeUnit(
        path=path, language="python", qualname=f"f{start}", span=Span(start, end, 0, 0), source="",
        docstring=None, body="", hash="h", normalized_hash="n", decorator_lines=decorators,
    )


def test_select_changed_units():
    units = [_unit("a.py", 3, 5, decorators=(2,)), _unit("a.py", 8, 9), _unit("b.py", 1, 2), _unit("c.py", 1, 1)]
    changed = {"a.py": {2, 7}, "b.py": None}
    assert select_changed_units(units, changed) == [units[0], units[2]]
    assert select_changed_units(units, {"a.py": {9}, "c.py": set()}) == [units[1]]


def test_deleted_function_selects_its_neighbours(repo):
    text = "def f():\n    return 1\n\ndef g():\n    return 2\n\ndef h():\n    return 3\n"
    write(repo, "m.py", text)
    git(repo, "add", "m.py")
    git(repo, "commit", "-q", "-m", "funcs")
    write(repo, "m.py", "def f():\n    return 1\n\ndef h():\n    return 3\n")
    changed = changed_lines(repo, None, staged=False)
    assert changed == {"m.py": {3, 4}}
    units = [_unit("m.py", 1, 2), _unit("m.py", 4, 5)]
    assert select_changed_units(units, changed) == [units[1]]

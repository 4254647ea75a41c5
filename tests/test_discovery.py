"""File discovery on throwaway folders: ignore rules, globs, skip reasons, symlinks, explicit lists."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codelens.core import SourceFile
from codelens.discovery import DiscoveryResult, Skipped, discover
from codelens.errors import CodelensError


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def rels(result: DiscoveryResult) -> list[str]:
    return [f.rel for f in result.files]


def test_empty_folder(tmp_path):
    result = discover(tmp_path)
    assert result.files == [] and result.skipped == [] and result.skipped_counts() == {}


def test_plain_folder_languages_sorted_and_unsupported_ignored(tmp_path):
    write(
        tmp_path,
        {
            "b.py": "x = 1\n", "a.pyi": "", "web/app.tsx": "", "web/lib.mjs": "", "web/z.jsx": "", "web/t.ts": "",
            "Main.java": "", "main.go": "", "c/x.c": "", "c/x.h": "", "c/y.hpp": "", "c/y.cc": "", "lib.rs": "",
            "README.md": "# hi", "data.json": "{}", "Makefile": "all:",
        },
    )  # fmt: skip
    result = discover(tmp_path)
    assert [(f.rel, f.language) for f in result.files] == [
        ("Main.java", "java"), ("a.pyi", "python"), ("b.py", "python"), ("c/x.c", "c"), ("c/x.h", "c"),
        ("c/y.cc", "cpp"), ("c/y.hpp", "cpp"), ("lib.rs", "rust"), ("main.go", "go"),
        ("web/app.tsx", "typescript"), ("web/lib.mjs", "javascript"), ("web/t.ts", "typescript"),
        ("web/z.jsx", "javascript"),
    ]  # fmt: skip
    assert result.skipped == []
    first = result.files[2]
    assert first == SourceFile(path=tmp_path / "b.py", rel="b.py", language="python", text="x = 1\n")


def test_default_excludes_at_any_depth_but_vendor_is_kept(tmp_path):
    excluded = [
        ".git/hooks/h.py", ".venv/lib/a.py", "venv/a.py", "env/a.py", ".tox/a.py", "node_modules/x/i.js",
        "pkg/node_modules/y.js", "__pycache__/m.py", "build/b.py", "dist/d.py", ".mypy_cache/a.py",
        ".pytest_cache/a.py", ".ruff_cache/a.py", ".codelens-cache/a.py", "lib/site-packages/s.py",
        "pkg.egg-info/e.py", "crate/target/debug/t.rs", "src/.hg/x.py", ".svn/x.py", ".nox/x.py",
    ]  # fmt: skip
    write(tmp_path, {rel: "" for rel in excluded} | {"src/app.py": "", "vendor/lib.py": "", "src/builder.py": ""})
    assert rels(discover(tmp_path)) == ["src/app.py", "src/builder.py", "vendor/lib.py"]


def test_gitignore_nested_negation_info_exclude_and_subfolder_root(tmp_path):
    write(
        tmp_path,
        {
            ".git/info/exclude": "private.py\n",
            ".gitignore": "*.gen.py\nsecret/\n/top_only.py\n",
            "sub/.gitignore": "local.py\n!keep.gen.py\n",
            "app.py": "", "x.gen.py": "", "private.py": "", "top_only.py": "", "secret/s.py": "",
            "sub/top_only.py": "", "sub/local.py": "", "sub/keep.gen.py": "", "sub/other.gen.py": "",
            "sub/deeper/local.py": "", "sub/deeper/ok.py": "", "other/local.py": "",
        },
    )  # fmt: skip
    assert rels(discover(tmp_path)) == [
        "app.py", "other/local.py", "sub/deeper/ok.py", "sub/keep.gen.py", "sub/top_only.py",
    ]  # fmt: skip
    # Scanning a sub-folder still applies the repository root's rules, with paths relative to the scan root.
    assert rels(discover(tmp_path / "sub")) == ["deeper/ok.py", "keep.gen.py", "top_only.py"]
    # And the rules can be switched off.
    assert len(discover(tmp_path, respect_gitignore=False).files) == 12


def test_relative_root_finds_the_repository(tmp_path, monkeypatch):
    write(tmp_path, {".git/HEAD": "ref: main\n", ".gitignore": "/sub/skip.py\n", "sub/skip.py": "", "sub/a.py": ""})
    monkeypatch.chdir(tmp_path / "sub")
    result = discover(Path("."))
    assert rels(result) == ["a.py"]
    assert result.files[0].path == Path("a.py")
    monkeypatch.chdir(tmp_path)
    assert rels(discover(Path("."))) == ["sub/a.py"]


def test_gitignore_outside_a_repository_still_applies_inside_the_root(tmp_path):
    write(tmp_path, {".gitignore": "gen/\n", "gen/g.py": "", "a.py": ""})
    assert rels(discover(tmp_path)) == ["a.py"]


def test_include_and_exclude_globs(tmp_path):
    write(
        tmp_path,
        {"src/a.py": "", "src/a_pb2.py": "", "src/deep/b.go": "", "tests/test_a.py": "", "tools/t.py": ""},
    )
    assert rels(discover(tmp_path, include=["src/"])) == ["src/a.py", "src/a_pb2.py", "src/deep/b.go"]
    assert rels(discover(tmp_path, include=["*.py"], exclude=["tests/", "*_pb2.py"])) == ["src/a.py", "tools/t.py"]
    assert rels(discover(tmp_path, include=["src/**/*.go", "/tools/*.py"])) == ["src/deep/b.go", "tools/t.py"]
    assert rels(discover(tmp_path, exclude=["src", "!src/a.py"])) == ["tests/test_a.py", "tools/t.py"]


def test_skip_reasons(tmp_path):
    long_line = "var a = [" + ",".join(["1"] * 3000) + "];\n"
    write(
        tmp_path,
        {
            "bin.py": b"x = 1\n\x00\x01\x02",
            "latin.py": "# café\n".encode("latin-1"),
            "big.py": b"x = 1\n" * (5 * 1024 * 1024 // 6),
            "app.min.js": "function a(){}\n",
            "bundle.js": long_line,
            "wide.ts": ("let x = '" + "y" * 400 + "';\n") * 20,
            "proto_pb.go": "// Code generated by protoc-gen-go. DO NOT EDIT.\npackage p\n",
            "schema.py": '"""Types.\n\n@generated by tool\n"""\n',
            "long_py.py": "x = '" + "y" * 6000 + "'\n",  # long lines only mark JS/TS as minified
            "ok.js": "function ok() { return 1; }\n",
            "bom.py": "\ufeffdef f():\n    pass\n",
            "cookie.py": "# -*- coding: latin-1 -*-\nname = 'café'\n".encode("latin-1"),
            "latin.c": "/* café */\n".encode("latin-1"),
        },
    )
    result = discover(tmp_path)
    assert rels(result) == ["bom.py", "cookie.py", "long_py.py", "ok.js"]
    assert result.files[1].text == "# -*- coding: latin-1 -*-\nname = 'café'\n"  # PEP 263 is honoured
    assert result.files[0].text == "def f():\n    pass\n"  # the byte-order mark is dropped
    assert result.skipped == [
        Skipped("app.min.js", "minified"),
        Skipped("big.py", "too-large"),
        Skipped("bin.py", "binary"),
        Skipped("bundle.js", "minified"),
        Skipped("latin.c", "not-utf8"),
        Skipped("latin.py", "not-utf8"),
        Skipped("proto_pb.go", "generated"),
        Skipped("schema.py", "generated"),
        Skipped("wide.ts", "minified"),
    ]
    assert result.skipped_counts() == {"binary": 1, "not-utf8": 2, "too-large": 1, "minified": 3, "generated": 2}
    assert rels(discover(tmp_path, max_file_bytes=10)) == []


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlinks_loops_duplicates_and_outside_targets(tmp_path):
    root, outside = tmp_path / "repo", tmp_path / "outside"
    write(root, {"pkg/a.py": "", "pkg/inner/b.py": ""})
    write(outside, {"shared.py": ""})
    (root / "pkg" / "inner" / "up").symlink_to(root / "pkg", target_is_directory=True)  # a loop
    (root / "self").symlink_to(root, target_is_directory=True)  # a loop straight to the root
    (root / "alias.py").symlink_to(root / "pkg" / "a.py")  # duplicate of a real file
    (root / "ext").symlink_to(outside, target_is_directory=True)  # outside the root: not followed
    (root / "leak.py").symlink_to(outside / "shared.py")  # a file outside the root: not read
    (root / "ghost.py").symlink_to(root / "missing.py")  # dangling
    result = discover(root)
    assert rels(result) == ["pkg/a.py", "pkg/inner/b.py"]
    assert result.skipped == [
        Skipped("ext", "outside-root"),
        Skipped("ghost.py", "unreadable"),
        Skipped("leak.py", "outside-root"),
        Skipped("pkg/inner/up", "symlink-loop"),
        Skipped("self", "symlink-loop"),
    ]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_mutual_directory_links_terminate(tmp_path):
    write(tmp_path, {"a/x.py": "", "b/y.py": ""})
    (tmp_path / "a" / "to_b").symlink_to(tmp_path / "b", target_is_directory=True)
    (tmp_path / "b" / "to_a").symlink_to(tmp_path / "a", target_is_directory=True)
    result = discover(tmp_path)
    assert rels(result) == ["a/x.py", "b/y.py"]
    assert {s.reason for s in result.skipped} == {"symlink-loop"}


def test_only_restricts_and_keeps_paths_relative_to_root(tmp_path, monkeypatch):
    write(
        tmp_path,
        {
            ".gitignore": "ignored.py\n", "a.py": "", "pkg/b.go": "", "pkg/c.py": "", "README.md": "",
            "ignored.py": "", "node_modules/m.js": "", "tests/t.py": "",
        },
    )  # fmt: skip
    only = [tmp_path / "pkg" / "b.go", tmp_path / "README.md", tmp_path / "ignored.py",
            tmp_path / "node_modules" / "m.js", tmp_path / "tests" / "t.py", tmp_path / "gone.py"]  # fmt: skip
    result = discover(tmp_path, only=only, exclude=["tests/"])
    assert rels(result) == ["pkg/b.go"]
    assert result.skipped == [Skipped("gone.py", "unreadable")]  # deleted since it was listed
    monkeypatch.chdir(tmp_path / "pkg")
    assert rels(discover(tmp_path, only=[Path("c.py")])) == ["pkg/c.py"]  # relative to the working directory
    assert discover(tmp_path, only=[]).files == []
    with pytest.raises(CodelensError, match="outside the scan root"):
        discover(tmp_path / "pkg", only=[tmp_path / "a.py"])


def test_root_may_be_a_single_file(tmp_path):
    write(tmp_path, {"one.rs": "fn main() {}\n", "notes.txt": "x"})
    result = discover(tmp_path / "one.rs")
    assert [(f.rel, f.language, f.text) for f in result.files] == [("one.rs", "rust", "fn main() {}\n")]
    assert discover(tmp_path / "notes.txt").files == []


def test_missing_root_is_a_usage_error(tmp_path):
    with pytest.raises(CodelensError, match="does not exist"):
        discover(tmp_path / "nope")


def test_decode_source_reports_encoding_and_byte_order_mark():
    from codelens.discovery import decode_source

    assert decode_source(b"\xef\xbb\xbfx = 1\n", "python") == ("x = 1\n", "utf-8", True)
    latin = "# -*- coding: latin-1 -*-\nname = 'café'\n"
    assert decode_source(latin.encode("latin-1"), "python") == (latin, "iso-8859-1", False)
    assert decode_source("/* café */".encode("latin-1"), "c") is None  # only Python declares encodings
    assert decode_source(b"\xef\xbb\xbf" + latin.encode("latin-1"), "python") is None  # a BOM says UTF-8


def test_a_root_inside_an_ignored_folder_is_scanned_with_the_other_rules(tmp_path):
    # A corpus staged under an ignored runs/ (the codelens-nano recipe does this) must not come out empty.
    write(tmp_path, {
        ".git/info/exclude": "/scratch/\n", ".gitignore": "/runs/\n*.gen.py\n", "a.py": "",
        "runs/corpus/pkg/a.py": "", "runs/corpus/pkg/b.gen.py": "", "runs/corpus/pkg/.gitignore": "local.py\n",
        "runs/corpus/pkg/local.py": "", "scratch/s.py": "",
    })  # fmt: skip
    assert rels(discover(tmp_path)) == ["a.py"]
    assert rels(discover(tmp_path / "runs" / "corpus")) == ["pkg/a.py"]
    assert rels(discover(tmp_path / "runs" / "corpus" / "pkg")) == ["a.py"]
    assert rels(discover(tmp_path / "scratch")) == ["s.py"]
    assert rels(discover(tmp_path / "runs", only=[tmp_path / "runs/corpus/pkg/a.py"])) == ["corpus/pkg/a.py"]

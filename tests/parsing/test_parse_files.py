"""parse_files: serial and process-pool runs agree; per-file error counts; registry basics."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from codelens.core import SourceFile
from codelens.errors import CodelensError
from codelens.parsing import EXTENSIONS, ParsedFiles, extract, get_spec, language_for_path, parse_files

from .helpers import FIXTURES


def _fixture_files() -> list[SourceFile]:
    files = []
    for path in sorted(FIXTURES.glob("*/*")):
        rel = path.relative_to(FIXTURES).as_posix()
        files.append(SourceFile(path=path, rel=rel, language=language_for_path(rel), text=path.read_text("utf-8")))
    return files


def test_serial_units_and_error_counts():
    files = _fixture_files()
    parsed = parse_files(files, workers=1)
    units, errors = parsed.units, parsed.errors
    assert len(units) == 73
    assert [u.path for u in units] == sorted((u.path for u in units), key=[f.rel for f in files].index)
    assert errors == {
        "c/broken.c": 1,
        "cpp/broken.cpp": 1,
        "go/broken.go": 1,
        "java/Broken.java": 1,
        "javascript/broken.js": 1,
        "python/broken.py": 1,
        "rust/broken.rs": 1,
        "typescript/broken.ts": 1,
    }


def test_process_pool_gives_the_same_result(monkeypatch):
    files = _fixture_files()
    monkeypatch.setattr(extract, "PARALLEL_MIN_CHARS", 0)
    assert parse_files(files, workers=2) == parse_files(files, workers=1)


def test_worker_function_and_results_cross_process_boundaries():
    """What the pool runs is picklable both ways (parse_files would fall back to serial otherwise)."""
    from concurrent.futures import ProcessPoolExecutor

    jobs = [(f.rel, f.text, f.language) for f in _fixture_files()]
    chunks = extract._chunks(jobs, 3)
    with ProcessPoolExecutor(max_workers=2) as pool:
        remote = [r for chunk in pool.map(extract._extract_many, chunks) for r in chunk]
    assert remote == extract._extract_many(jobs)


def test_comments_are_the_comment_nodes_of_each_file():
    files = _fixture_files()
    comments = parse_files(files, workers=1).comments
    seen = set()
    for f in files:
        encoded = f.text.encode("utf-8")
        texts = [encoded[start:end].decode("utf-8") for start, end in comments.get(f.rel, [])]
        assert all(text.startswith("#" if f.language == "python" else ("//", "/*")) for text in texts), f.rel
        if texts:
            seen.add(f.language)
    assert seen == set(EXTENSIONS.values())  # every language's fixtures hold comments


def test_chunks_keep_order_and_cover_everything():
    jobs = [(f"f{i}", "x" * (i + 1), "python") for i in range(10)]
    chunks = extract._chunks(jobs, 4)
    assert [job for chunk in chunks for job in chunk] == jobs
    assert 2 <= len(chunks) <= 5


def test_no_files():
    assert parse_files([]) == ParsedFiles([], {}, {})


def test_extension_map():
    expected = {
        ".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript",
        ".jsx": "javascript", ".ts": "typescript", ".tsx": "typescript", ".java": "java", ".go": "go",
        ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp",
        ".hxx": "cpp", ".rs": "rust",
    }  # fmt: skip
    for suffix, language in expected.items():
        assert EXTENSIONS[suffix] == language
        assert language_for_path(f"dir/File{suffix.upper()}") == language
    assert language_for_path("README.md") is None
    assert {get_spec(lang).comment_prefix for lang in ("python",)} == {"#"}
    assert {get_spec(lang).comment_prefix for lang in set(expected.values()) - {"python"}} == {"//"}


def test_unknown_language_is_a_usage_error():
    with pytest.raises(CodelensError, match="unsupported language 'cobol'"):
        get_spec("cobol")


def test_importing_parsing_loads_no_grammar():
    code = (
        "import sys, codelens.parsing, codelens.discovery\n"
        "print(sorted(m for m in sys.modules if 'tree_sitter' in m))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "path", ["a.py", "dir/b.TSX", "x.tar.gz", ".py", "a.", "a..", "dir/", "dir/.", "a/../b.rs", "", ".", "..", "a.py/"]
)
def test_suffix_is_pathlib_suffix_lowered(path):
    from pathlib import PurePosixPath

    from codelens.parsing.registry import suffix

    assert suffix(path) == PurePosixPath(path).suffix.lower()
    assert suffix(PurePosixPath(path)) == PurePosixPath(path).suffix.lower()

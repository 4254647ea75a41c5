"""Loaders for the public CodeXGLUE benchmark files, into the same example types as the corpus builders.

    Devign (defects)          JSONL records {"func", "target", "project"?, "idx"?}
    BigCloneBench (clones)    data.jsonl {"idx", "func"} + train.txt / valid.txt / test.txt "idx1<TAB>idx2<TAB>label"
    POJ-104 (clone classes)   JSONL records {"code", "label", "index"?}
    CodeSearchNet (summaries) JSONL records {"code" | "original_string", "docstring_tokens" | "docstring", ...}

``load_codexglue(path)`` recognises the format from the first record (a BigCloneBench folder or its
data.jsonl is recognised by name). The split of a file comes from its name (train / valid / test), as
CodeXGLUE ships them. Unreadable lines are counted and skipped, never fatal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from codelens.errors import ConfigError
from codelens.train.data import CloneExample, ClonePair, DefectExample, SummaryExample
from codelens.train.data.summaries import first_sentence

_SPLIT_WORDS = (("train", "train"), ("valid", "val"), ("dev", "val"), ("val", "val"), ("test", "test"))
_PAIR_FILES = {"train.txt": "train", "valid.txt": "val", "test.txt": "test"}
_INDENTS = ("", "    ", "        ", "\t")


@dataclass
class Loaded:
    """What one CodeXGLUE file (or BigCloneBench folder) contributed."""

    format: str
    path: str
    defect: list[DefectExample] = field(default_factory=list)
    clone: list[CloneExample] = field(default_factory=list)
    clone_pairs: list[ClonePair] = field(default_factory=list)
    summary: list[SummaryExample] = field(default_factory=list)
    skipped: int = 0
    """Lines that were not valid records."""


def split_from_name(path: Path) -> str:
    """train / val / test from a CodeXGLUE file name (``train.jsonl``, ``python_valid_0.jsonl``...)."""
    stem = path.name.lower()
    for word, split in _SPLIT_WORDS:
        if word in stem:
            return split
    raise ConfigError(f"cannot tell the split of {path} from its name",
                      hint="name CodeXGLUE files train.jsonl / valid.jsonl / test.jsonl as the benchmark does")


def _records(path: Path, limit: int | None):
    """Yield parsed JSON objects (None for a bad line), at most ``limit`` good ones."""
    count = 0
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                yield None
                continue
            if not isinstance(record, dict):
                yield None
                continue
            yield record
            count += 1
            if limit is not None and count >= limit:
                return


def detect_format(path: Path) -> str:
    """Which CodeXGLUE format ``path`` holds: devign, bigclonebench, poj104 or codesearchnet."""
    path = Path(path)
    if path.is_dir():
        if (path / "data.jsonl").is_file():
            return "bigclonebench"
        raise ConfigError(f"{path} is a folder without data.jsonl",
                          hint="pass a CodeXGLUE .jsonl file, or a BigCloneBench folder (data.jsonl + train.txt ...)")
    if not path.is_file():
        raise ConfigError(f"CodeXGLUE file {path} does not exist", hint="check the path given with --codexglue")
    first = next((r for r in _records(path, 1) if r is not None), None)
    keys = set(first or {})
    if "func" in keys and "target" in keys:
        return "devign"
    if "func" in keys and "idx" in keys:
        return "bigclonebench"
    if "code" in keys and "label" in keys:
        return "poj104"
    if keys & {"docstring_tokens", "docstring"} and keys & {"code", "original_string"}:
        return "codesearchnet"
    raise ConfigError(f"{path} is not a CodeXGLUE file codelens knows (record keys: {sorted(keys)})",
                      hint="use Devign, BigCloneBench, POJ-104 or CodeSearchNet JSONL files")


def load_devign(path: Path, limit: int | None = None) -> Loaded:
    path = Path(path)
    split, out = split_from_name(path), Loaded("devign", str(path))
    for n, record in enumerate(_records(path, limit)):
        good = record is not None and isinstance(record.get("func"), str)
        if not good or record.get("target") not in (0, 1, "0", "1", True, False):
            out.skipped += 1
            continue
        repo = str(record.get("project", "devign"))
        out.defect.append(DefectExample(record["func"], int(record["target"]), "devign", None, repo, split,
                                        f"devign:{record.get('idx', n)}"))
    return out


def load_bigclonebench(path: Path, limit: int | None = None) -> Loaded:
    """Pairs of every split file next to data.jsonl; ``limit`` caps the pairs read per split file."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    data = folder / "data.jsonl"
    out = Loaded("bigclonebench", str(folder))
    functions = {}
    for record in _records(data, None):
        if record is None or not isinstance(record.get("func"), str) or "idx" not in record:
            out.skipped += 1
            continue
        functions[str(record["idx"])] = record["func"]
    for name, split in _PAIR_FILES.items():
        pairs = folder / name
        if not pairs.is_file():
            continue
        with pairs.open(encoding="utf-8", errors="replace") as handle:
            count = 0
            for line in handle:
                parts = line.split()
                known = len(parts) == 3 and parts[0] in functions and parts[1] in functions
                if not known or parts[2] not in ("0", "1"):
                    out.skipped += bool(line.strip())
                    continue
                out.clone_pairs.append(ClonePair(functions[parts[0]], functions[parts[1]], int(parts[2]),
                                                 "bigclonebench", "bigclonebench", split))
                count += 1
                if limit is not None and count >= limit:
                    break
    return out


def load_poj104(path: Path, limit: int | None = None) -> Loaded:
    path = Path(path)
    split, out = split_from_name(path), Loaded("poj104", str(path))
    for record in _records(path, limit):
        if record is None or not isinstance(record.get("code"), str) or "label" not in record:
            out.skipped += 1
            continue
        out.clone.append(CloneExample(record["code"], f"poj104:{record['label']}", "poj104", "poj104", split))
    return out


def _strip_docstring(code: str, language: str) -> str | None:
    """The function without its docstring, through codelens' extraction (Python keeps docstrings inside)."""
    if language != "python":
        return code
    from codelens.train.data.functions import body_of

    for indent in _INDENTS:
        body = body_of(code, "python", indent)
        if body is not None:
            return body
    return None


def load_codesearchnet(path: Path, limit: int | None = None) -> Loaded:
    """Summary examples; the target is the record's docstring tokens joined by spaces, as CodeXGLUE scores it."""
    path = Path(path)
    split, out = split_from_name(path), Loaded("codesearchnet", str(path))
    for n, record in enumerate(_records(path, limit)):
        record = record or {}
        code = record.get("code") or record.get("original_string")
        tokens = record.get("docstring_tokens")
        summary = " ".join(tokens) if isinstance(tokens, list) and tokens else first_sentence(record.get("docstring"))
        body = _strip_docstring(code, str(record.get("language", "python")).lower()) if isinstance(code, str) else None
        if not body or not summary:
            out.skipped += 1
            continue
        repo = str(record.get("repo", "codesearchnet"))
        origin = f"{repo}:{record.get('path', '')}:{record.get('func_name', n)}"
        out.summary.append(SummaryExample(body, summary, repo, split, origin))
    return out


_LOADERS = {"devign": load_devign, "bigclonebench": load_bigclonebench, "poj104": load_poj104,
            "codesearchnet": load_codesearchnet}


def load_codexglue(path: Path, limit: int | None = None) -> Loaded:
    """Load any of the four formats, recognised from the file (see ``detect_format``)."""
    path = Path(path)
    return _LOADERS[detect_format(path)](path, limit)

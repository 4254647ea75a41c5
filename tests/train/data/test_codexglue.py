"""CodeXGLUE loaders on tiny inline files."""

from __future__ import annotations

import json

import pytest

from codelens.errors import ConfigError
from codelens.train.data import CloneExample, ClonePair, DefectExample, SummaryExample
from codelens.train.data.codexglue import detect_format, load_codexglue, split_from_name


def _jsonl(path, records, extra_lines=()):
    path.write_text("\n".join([json.dumps(r) for r in records] + list(extra_lines)) + "\n", encoding="utf-8")
    return path


def test_devign(tmp_path):
    path = _jsonl(tmp_path / "valid.jsonl", [
        {"project": "FFmpeg", "commit_id": "aa", "target": 1, "func": "int f(int a) { return a / 0; }", "idx": 7},
        {"project": "qemu", "commit_id": "bb", "target": 0, "func": "int g(void) { return 0; }", "idx": 8},
    ], extra_lines=["not json", json.dumps({"func": "x", "target": 5})])
    loaded = load_codexglue(path)
    assert loaded.format == "devign" and loaded.skipped == 2
    assert loaded.defect == [
        DefectExample("int f(int a) { return a / 0; }", 1, "devign", None, "FFmpeg", "val", "devign:7"),
        DefectExample("int g(void) { return 0; }", 0, "devign", None, "qemu", "val", "devign:8"),
    ]


def test_bigclonebench_folder_and_data_file(tmp_path):
    _jsonl(tmp_path / "data.jsonl", [{"idx": "1", "func": "void a() {}"}, {"idx": "2", "func": "void b() {}"},
                                     {"idx": "3", "func": "void c() {}"}])
    (tmp_path / "train.txt").write_text("1\t2\t1\n1\t3\t0\n9\t1\t1\n")
    (tmp_path / "test.txt").write_text("2\t3\t0\n")
    for given in (tmp_path, tmp_path / "data.jsonl"):
        loaded = load_codexglue(given)
        assert loaded.format == "bigclonebench" and loaded.skipped == 1
        assert loaded.clone_pairs == [
            ClonePair("void a() {}", "void b() {}", 1, "bigclonebench", "bigclonebench", "train"),
            ClonePair("void a() {}", "void c() {}", 0, "bigclonebench", "bigclonebench", "train"),
            ClonePair("void b() {}", "void c() {}", 0, "bigclonebench", "bigclonebench", "test"),
        ]
    assert len(load_codexglue(tmp_path, limit=1).clone_pairs) == 2  # one per split file


def test_poj104(tmp_path):
    path = _jsonl(tmp_path / "test.jsonl", [{"label": "12", "index": "0", "code": "int main() {}"},
                                            {"label": "12", "index": "1", "code": "int main() { return 0; }"}])
    loaded = load_codexglue(path)
    assert loaded.clone == [CloneExample("int main() {}", "poj104:12", "poj104", "poj104", "test"),
                            CloneExample("int main() { return 0; }", "poj104:12", "poj104", "poj104", "test")]


def test_codesearchnet_python_loses_its_docstring(tmp_path):
    code = 'def add(a, b):\n    """Add two numbers."""\n    return a + b'
    method = 'def area(self):\n        """Area of the shape."""\n        return self.w * self.h'
    path = _jsonl(tmp_path / "python_train_0.jsonl", [
        {"repo": "me/calc", "path": "calc.py", "func_name": "add", "code": code, "language": "python",
         "docstring": "Add two numbers.", "docstring_tokens": ["Add", "two", "numbers", "."]},
        {"repo": "me/geo", "path": "geo.py", "func_name": "Shape.area", "original_string": method,
         "language": "python", "docstring": "Area of the shape.\n\nIn square units."},
        {"repo": "me/x", "code": "func F() {}", "language": "go", "docstring_tokens": []},
    ])
    loaded = load_codexglue(path)
    assert loaded.format == "codesearchnet" and loaded.skipped == 1
    assert loaded.summary == [
        SummaryExample("def add(a, b):\n    return a + b", "Add two numbers .", "me/calc", "train", "me/calc:calc.py:add"),
        SummaryExample("def area(self):\n        return self.w * self.h", "Area of the shape.", "me/geo", "train",
                       "me/geo:geo.py:Shape.area"),
    ]


def test_detection_and_split_names(tmp_path):
    assert split_from_name(tmp_path / "python_valid_0.jsonl") == "val"
    assert split_from_name(tmp_path / "dev.jsonl") == "val"
    with pytest.raises(ConfigError, match="split"):
        split_from_name(tmp_path / "data.jsonl.gz")
    odd = _jsonl(tmp_path / "train.jsonl", [{"text": "hello"}])
    with pytest.raises(ConfigError, match="not a CodeXGLUE file"):
        detect_format(odd)
    with pytest.raises(ConfigError, match="does not exist"):
        detect_format(tmp_path / "nope.jsonl")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="without data.jsonl"):
        detect_format(tmp_path / "empty")

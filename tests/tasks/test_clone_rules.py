"""Which functions may form clone pairs: minimum sizes, literal-only twins, test code."""

from __future__ import annotations

import pytest

from codelens.parsing import extract_units
from codelens.tasks.clone import MIN_SIMILAR_STATEMENTS, find_clones, is_small, statement_count
from codelens.tasks.testcode import is_test_code, is_test_path
from tests.tasks.factory import result, unit, vector

KEYWORDS = [("git", "push"), ("brew", "install"), ("apt", "update"), ("npm", "run"), ("cargo", "build"),
            ("pip", "install"), ("docker", "run"), ("go", "get"), ("yarn", "add"), ("ls", "-l"), ("cd", ".."),
            ("mvn", "test"), ("sudo", "rm"), ("cat", "file"), ("grep", "pattern"), ("java", "-jar"),
            ("python", "-m"), ("rm", "-rf"), ("mkdir", "-p"), ("ssh", "host"), ("scp", "file"), ("tar", "x"),
            ("vim", "file"), ("man", "page"), ("kill", "-9"), ("ps", "aux"), ("df", "-h"), ("du", "-s"),
            ("chmod", "+x"), ("chown", "user"), ("curl", "url"), ("wget", "url")]


def rule_files() -> list:
    """32 rule modules of a command fixer, each a one-statement ``match`` differing only in literals."""
    units = []
    for index, (tool, word) in enumerate(KEYWORDS):
        text = (f"def match(command):\n    return ('{tool}' in command.script\n"
                f"            and '{word} requires' in command.output)\n\n\n"
                f"def get_new_command(command):\n    return command.script.replace('{tool}', '{tool} --fix')\n")
        units += extract_units(f"rules/rule_{index:02d}.py", text, "python").units
    return units


def _scan(units, threshold=0.5, **kwargs):
    # Every function gets the same embedding: only the size and test-code rules keep pairs apart.
    results = {u.hash: result(u, embedding=vector(1)) for u in units}
    return find_clones(units, results, threshold, **kwargs)


def test_thirty_two_one_line_match_functions_form_no_clone_class():
    units = rule_files()
    matches = [u for u in units if u.qualname == "match"]
    assert len(matches) == 32 and len({u.normalized_hash for u in matches}) == 1  # one type-2 key, as reported
    assert {u.statements for u in matches} == {1}
    report = _scan(units)
    assert report.pairs == [] and report.classes == []


def test_literal_only_twins_of_one_or_two_statements_never_pair_of_any_kind():
    one = "def limit(values):\n    return [value for value in values if value > {n} and value < {m}]\n"
    two = ("def check(value):\n    if value > {n} and value < {m} or value == {n} + {m}:\n"
           "        raise ValueError('value out of range: %r' % (value,))\n")
    for template in (one, two):
        units = [extract_units(f"m{i}.py", template.format(n=i, m=10 * i + 7), "python").units[0] for i in (1, 2)]
        assert units[0].normalized_hash == units[1].normalized_hash and units[0].hash != units[1].hash
        assert not _scan(units, threshold=-1.0).pairs  # not type-2, and not semantic even at threshold -1
    # Exact copies of a small function are still type-1 clones (today's line / token minimum).
    copies = [extract_units(f"c{i}.py", two.format(n=1, m=2), "python").units[0] for i in (1, 2)]
    assert [p.kind for p in _scan(copies).pairs] == ["type-1"]


def test_three_statements_and_enough_tokens_make_type2_and_semantic_pairs_possible():
    big = ("def {name}(items, limit):\n    total = 0\n    for item in items:\n        if item > limit:\n"
           "            total = total + item * {k}\n    return total\n")
    a, b = (extract_units(f"{n}.py", big.format(name=n, k=k), "python").units[0] for n, k in (("f", 2), ("g", 3)))
    assert a.statements == 5 and not is_small(a)
    assert [p.kind for p in _scan([a, b]).pairs] == ["type-2"]
    tiny = unit("tiny", "pkg/t.py", 1, "def tiny(a):\n    x = a\n    y = x\n    return y + 1")
    assert statement_count(tiny) == 3 and is_small(tiny)  # enough statements, too few tokens
    assert is_small(unit("short", "pkg/s.py", 1, "def short(a):\n    return compute(a, a, a, a, a, a, a, a, a)\n"))


def test_minimum_statements_can_be_lowered_by_the_caller():
    units = rule_files()
    matches = [u for u in units if u.qualname == "match"][:3]
    report = _scan(matches, min_statements=1, min_similar_tokens=0)
    assert {p.kind for p in report.pairs} == {"type-2"} and len(report.classes) == 1
    assert MIN_SIMILAR_STATEMENTS == 3


@pytest.mark.parametrize("path", [
    "tests/test_parser.py", "pkg/tests/helpers.py", "test_a.py", "pkg/a_test.py", "a_tests.py", "conftest.py",
    "app/tests.py", "server/handler_test.go", "pkg/testdata/gen.go", "web/a.test.js", "web/a.spec.ts",
    "web/a.test.tsx", "web/__tests__/a.js", "src/test/java/org/FooBar.java", "src/main/java/FooTest.java",
    "FooTests.java", "TestFoo.java", "FooIT.java", "FooTestCase.java", "lib/list_unittest.cc", "test_list.c",
    "Lib/test/support/__init__.py",
])
def test_test_paths(path):
    assert is_test_path(path)


@pytest.mark.parametrize("path", [
    "pkg/parser.py", "numpy/testing/utils.py", "latest.py", "contest.py", "attest.py", "Testable.java",
    "src/main/java/Foo.java", "web/a.testing.js", "spec.py", "pkg/protest_test_data.txt.bak/x.py",
])
def test_library_paths(path):
    assert not is_test_path(path)


def test_rust_mod_tests_is_test_code():
    text = "fn add(a: i32) -> i32 { a + 1 }\n#[cfg(test)]\nmod tests {\n    fn it_adds() { assert_eq!(2, 2); }\n}\n"
    add, it_adds = extract_units("src/lib.rs", text, "rust").units
    assert (add.qualname, it_adds.qualname) == ("add", "tests.it_adds")
    assert not is_test_code(add) and is_test_code(it_adds)


def test_test_code_takes_part_in_nothing_unless_asked():
    lib = unit("load", "pkg/a.py", 1)
    copy_in_tests = unit("load", "tests/test_a.py", 1)  # same source: a type-1 copy
    other_test = unit("check", "tests/test_b.py", 1)
    units = [lib, copy_in_tests, other_test]
    report = _scan(units, neighbours_k=2)
    assert report.pairs == [] and report.classes == []
    assert list(report.neighbours) == [lib] and report.neighbours[lib] == ()  # tests are not neighbours either
    with_tests = _scan(units, neighbours_k=2, include_tests=True)
    assert [(p.a.path, p.b.path, p.kind) for p in with_tests.pairs] == [
        ("pkg/a.py", "tests/test_a.py", "type-1"), ("pkg/a.py", "tests/test_b.py", "semantic"),
        ("tests/test_a.py", "tests/test_b.py", "semantic")]
    assert set(with_tests.neighbours) == set(units)

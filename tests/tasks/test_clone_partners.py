"""Functions that are never clone partners (a function and its closures, parallel dunder methods of one
class), and the clone size knobs."""

from __future__ import annotations

from codelens.tasks.clone import find_clones, never_partners
from tests.tasks.factory import body, result, results_for, unit, vector

SAME = vector(1, 0)


def pairs_of(units, threshold: float = 0.9, **kwargs) -> list[tuple[str, str]]:
    results = results_for(*[(u, result(u, embedding=SAME)) for u in units])
    report = find_clones(units, results, threshold, **kwargs)
    return [(p.a.qualname, p.b.qualname) for p in report.pairs]


def test_a_function_and_the_functions_nested_in_it_never_pair():
    outer = unit("encode", start=10, source=body("encode", 8))
    inner = unit("encode.replace", start=12, source=body("replace"))
    other = unit("decode", start=40, source=body("decode"))
    assert never_partners(outer, inner) and never_partners(inner, outer)
    assert pairs_of([outer, inner, other]) == [("encode", "decode"), ("encode.replace", "decode")]


def test_a_nested_name_elsewhere_in_the_file_is_not_nested():
    outer = unit("encode", start=10, source=body("encode"))
    later = unit("encode.replace", start=30, source=body("replace"))  # past encode's last line: not inside it
    assert not never_partners(outer, later)


def test_parallel_dunder_methods_of_one_class_never_pair_but_those_of_two_classes_do():
    lt, gt = unit("Version.__lt__", start=5), unit("Version.__gt__", start=12)
    add, radd = unit("Vector.__add__", start=5, path="pkg/v.py"), unit("Vector.__radd__", start=12, path="pkg/v.py")
    other = unit("Release.__lt__", start=30)
    assert never_partners(lt, gt) and never_partners(add, radd)
    assert not never_partners(lt, other)
    assert pairs_of([lt, gt, other]) == [("Version.__lt__", "Release.__lt__"), ("Version.__gt__", "Release.__lt__")]
    assert pairs_of([add, radd]) == []


def test_methods_of_different_families_still_pair():
    assert not never_partners(unit("Version.__lt__", start=5), unit("Version.__add__", start=12))


def test_min_lines_and_min_tokens_knobs():
    small = [unit("a", path="a.py", source=body("a", 3)), unit("b", path="b.py", source=body("b", 3))]
    assert pairs_of(small) == [("a", "b")]
    assert pairs_of(small, min_lines=5) == []                      # 4 lines each
    assert pairs_of(small, min_tokens=200, min_similar_tokens=200) == []

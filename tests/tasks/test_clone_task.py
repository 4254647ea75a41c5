"""Clone pairs of each kind, clone classes, neighbours and CL200 findings on crafted functions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from codelens.findings import Severity
from codelens.tasks.clone import (
    FULL_LINK_MAX,
    MAX_RELATED,
    ClonePair,
    clone_classes,
    clone_confidence,
    clone_findings,
    find_clones,
    is_trivial,
)
from tests.tasks.factory import body, result, unit, vector

GETTER = "def name(self):\n    return self._name"


def _scan(*specs):
    """(unit, embedding) pairs -> units, results."""
    units = [u for u, _ in specs]
    return units, {u.hash: result(u, embedding=e) for u, e in specs}


def _kinds(report):
    return [(p.a.qualname, p.b.qualname, p.kind) for p in report.pairs]


def test_type1_pairs_come_from_equal_hashes_with_similarity_one():
    a = unit("load", "pkg/a.py", 10)
    b = unit("load", "pkg/b.py", 3)  # same source, so same hash
    other = unit("save", "pkg/c.py", 1)
    units, results = _scan((a, vector(1)), (b, vector(1)), (other, vector(0, 1)))
    report = find_clones(units, results, threshold=0.9)
    assert report.pairs == [ClonePair(a, b, 1.0, "type-1")]


def test_type2_pairs_come_from_equal_normalized_hashes_when_hashes_differ():
    a = unit("total", "pkg/a.py", 1, normalized="N1")
    b = unit("summed", "pkg/b.py", 1, normalized="N1")
    units, results = _scan((a, vector(1)), (b, vector(0, 1)))
    report = find_clones(units, results, threshold=0.9)
    assert _kinds(report) == [("total", "summed", "type-2")]
    assert report.pairs[0].similarity == 1.0


def test_semantic_pairs_come_from_embedding_cosine_at_or_above_the_threshold():
    a = unit("total_price", "pkg/a.py", 1)
    b = unit("order_value", "pkg/b.py", 1)
    c = unit("unrelated", "pkg/c.py", 1)
    close = vector(1, 0.3), vector(1, 0, 0.3)  # cosine 1 / 1.09 = 0.917
    units, results = _scan((a, close[0]), (b, close[1]), (c, vector(0, 0, 0, 1)))
    report = find_clones(units, results, threshold=0.9)
    assert _kinds(report) == [("total_price", "order_value", "semantic")]
    assert report.pairs[0].similarity == pytest.approx(1 / 1.09, abs=1e-6)
    assert find_clones(units, results, threshold=0.92).pairs == []


def test_each_pair_has_its_strongest_kind_only_and_no_function_pairs_with_itself():
    a = unit("f", "pkg/a.py", 1, normalized="N")
    a_copy = unit("f", "pkg/b.py", 1, normalized="N")
    renamed = unit("g", "pkg/c.py", 1, normalized="N")
    units, results = _scan((a, vector(1)), (a_copy, vector(1)), (renamed, vector(1, 0.01)))
    report = find_clones(units + [a], results, threshold=0.5)  # a listed twice
    assert _kinds(report) == [("f", "f", "type-1"), ("f", "g", "type-2"), ("f", "g", "type-2")]
    assert all(p.a != p.b for p in report.pairs)
    keys = [(p.a.path, p.b.path) for p in report.pairs]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_pairs_and_classes_do_not_depend_on_input_order():
    specs = [(unit(f"f{i}", f"pkg/m{i % 3}.py", 10 * i, normalized="N" if i < 3 else None), vector(1, i / 50))
             for i in range(6)]
    units, results = _scan(*specs)
    forward = find_clones(units, results, threshold=0.95, neighbours_k=2)
    backward = find_clones(list(reversed(units)), results, threshold=0.95, neighbours_k=2)
    assert forward.pairs == backward.pairs
    assert forward.classes == backward.classes


def test_trivial_functions_never_pair_but_still_get_neighbours():
    g1 = unit("A.name", "pkg/a.py", 1, GETTER)
    g2 = unit("B.name", "pkg/b.py", 1, GETTER)
    big = unit("big", "pkg/c.py", 1)
    assert is_trivial(g1) and not is_trivial(big)
    units, results = _scan((g1, vector(1)), (g2, vector(1)), (big, vector(1, 0.1)))
    report = find_clones(units, results, threshold=0.5, neighbours_k=2)
    assert report.pairs == [] and report.classes == []
    assert [n.unit.qualname for n in report.neighbours[g1]] == ["B.name", "big"]
    assert report.neighbours[g1][0].similarity == pytest.approx(1.0)


def test_clone_classes_join_chains_with_union_find():
    u = [unit(f"f{i}", "pkg/a.py", 10 * i) for i in range(5)]
    pairs = [ClonePair(u[0], u[1], 0.95, "semantic"), ClonePair(u[1], u[2], 0.93, "semantic"),
             ClonePair(u[3], u[4], 1.0, "type-2")]
    assert clone_classes(pairs) == [(u[0], u[1], u[2]), (u[3], u[4])]
    assert clone_classes(list(reversed(pairs))) == [(u[0], u[1], u[2]), (u[3], u[4])]


def test_big_groups_of_copies_are_linked_as_a_star_with_one_class():
    copies = [unit("f", f"pkg/m{i:02d}.py", 1) for i in range(FULL_LINK_MAX + 4)]
    units, results = _scan(*[(c, vector(1)) for c in copies])
    report = find_clones(units, results, threshold=0.9)
    assert len(report.pairs) == len(copies) - 1
    assert {p.a for p in report.pairs} == {copies[0]}
    assert report.classes == [tuple(copies)]


def test_neighbours_list_the_top_k_other_functions_best_first():
    units = [unit(f"f{i}", "pkg/a.py", 10 * i) for i in range(4)]
    embeddings = [vector(1), vector(1, 0.2), vector(1, 0.5), vector(0, 1)]
    report = find_clones(units, {u.hash: result(u, embedding=e) for u, e in zip(units, embeddings)},
                         threshold=0.99, neighbours_k=2)
    assert {u.qualname: [n.unit.qualname for n in ns] for u, ns in report.neighbours.items()} == {
        "f0": ["f1", "f2"], "f1": ["f0", "f2"], "f2": ["f1", "f0"], "f3": ["f2", "f1"]}
    assert find_clones(units, {}, threshold=0.9, neighbours_k=0).neighbours == {}
    assert find_clones(units, {}, threshold=0.9, neighbours_k=None).neighbours == {}


def test_units_without_usable_embeddings_are_left_out_of_the_semantic_search():
    a, b, c, d = (unit(n, "pkg/a.py", i * 10) for i, n in enumerate("abcd"))
    results = {a.hash: result(a, embedding=vector(1)), b.hash: result(b, embedding=vector(1, 0.01)),
               c.hash: result(c, embedding=np.full(8, np.nan, np.float32)),
               d.hash: result(d, embedding=np.ones(5, np.float32))}  # another adapter's size
    report = find_clones([a, b, c, d], results, threshold=0.9, neighbours_k=3)
    assert _kinds(report) == [("a", "b", "semantic")]
    assert set(report.neighbours) == {a, b}


def test_clone_findings_one_per_class_member_with_twins_as_related_locations():
    a = unit("load", "pkg/a.py", 10)
    b = unit("load", "pkg/b.py", 3)
    c = unit("fetch", "pkg/c.py", 7)
    units, results = _scan((a, vector(1)), (b, vector(1)), (c, vector(1, 0.3)))
    report = find_clones(units, results, threshold=0.9)
    findings = clone_findings(report, scale=10.0)
    assert [(f.path, f.code, f.rule, f.severity) for f in findings] == [
        ("pkg/a.py", "CL200", "clone", Severity.LOW), ("pkg/b.py", "CL200", "clone", Severity.LOW),
        ("pkg/c.py", "CL200", "clone", Severity.LOW)]
    first = findings[0]
    assert [(r.path, r.start_line, r.qualname) for r in first.related] == [("pkg/b.py", 3, "load"), ("pkg/c.py", 7, "fetch")]
    assert first.confidence == 1.0  # its best pair is type-1
    assert first.message == "load duplicates load (pkg/b.py:3), fetch (pkg/c.py:7) (type-1, similarity 1.00)"
    sim = 1 / math.sqrt(1.09)
    assert findings[2].confidence == pytest.approx(1 / (1 + math.exp(-10.0 * (sim - 0.9))))


def test_related_locations_are_capped():
    copies = [unit("f", f"pkg/m{i:02d}.py", 1) for i in range(MAX_RELATED + 5)]
    units, results = _scan(*[(c, vector(1)) for c in copies])
    findings = clone_findings(find_clones(units, results, threshold=0.9))
    assert len(findings) == len(copies)
    assert all(len(f.related) == MAX_RELATED for f in findings)
    assert findings[0].message.endswith("and 11 more (type-1, similarity 1.00)")


def test_semantic_confidence_is_one_half_at_the_threshold():
    a, b = unit("a"), unit("b", start=20)
    assert clone_confidence(ClonePair(a, b, 0.9, "semantic"), 0.9, scale=7.0) == 0.5
    assert clone_confidence(ClonePair(a, b, 1.0, "type-2"), 0.9) == 1.0


def test_big_body_is_not_trivial():
    assert not is_trivial(unit("f", source=body("f", 2)))
    assert is_trivial(unit("f", source=body("f", 1)))


def test_the_lexical_share_of_the_clone_score_lifts_shared_names_and_drops_foreign_ones():
    """Score = (1 - w) cosine + w Jaccard: a pair the embedding alone misses is found when its functions
    share their identifiers, and one it would report is dropped when they share none."""
    from codelens.tasks.clone import cosine_floor, jaccard, token_set

    shared = ("def {name}(orders, tax):\n    total = 0\n    for order in orders:\n        total += order.price * tax\n"
              "        total -= order.discount\n    return total\n")
    a = unit("price_a", "pkg/a.py", 1, shared.format(name="price_a"))
    b = unit("price_b", "pkg/b.py", 1, shared.format(name="price_b").replace("total", "acc"))
    foreign = ("def other(rows, width):\n    lines = []\n    for row in rows:\n        lines.append(row.render(width))\n"
               "        lines.append(sep)\n    return lines\n")
    c = unit("other", "pkg/c.py", 1, foreign)
    lexical = jaccard(token_set(a.body), token_set(b.body))
    assert lexical > 0.6 and jaccard(token_set(a.body), token_set(c.body)) < 0.25
    # a-b: cosine 0.8 (below 0.9 alone); a-c: cosine 0.95 (above it alone).
    ea = vector(1.0, 0.0, 0.0)
    eb = vector(0.8, 0.6, 0.0)
    ec = vector(0.95, 0.0, math.sqrt(1 - 0.95 ** 2))
    units, results = _scan((a, ea), (b, eb), (c, ec))
    assert _kinds(find_clones(units, results, threshold=0.9)) == [("price_a", "other", "semantic")]
    fused = find_clones(units, results, threshold=0.7, lexical_weight=0.5)
    assert _kinds(fused) == [("price_a", "price_b", "semantic")]
    assert fused.pairs[0].similarity == pytest.approx(0.5 * 0.8 + 0.5 * lexical, abs=1e-5)
    assert cosine_floor(0.7, 0.5) == pytest.approx(0.4) and cosine_floor(0.9, 0.0) == 0.9


def test_neighbours_rank_by_the_fused_clone_score_cl200_decides_on():
    """By embedding alone ``far`` is the nearer; fused with identifier overlap, ``twin`` (the same names) wins,
    and its similarity is the fused score, as a CL200 pair would carry it."""
    from codelens.tasks.clone import fused_similarity, jaccard, token_set

    query = unit("area", "pkg/a.py", 1, source="def area(width, height):\n    return width * height")
    twin = unit("size", "pkg/b.py", 1, source="def size(width, height):\n    return height * width")
    far = unit("speak", "pkg/c.py", 1, source="def speak(text):\n    print(text.upper())")
    units, results = _scan((query, vector(1, 0)), (twin, vector(1, 0.8)), (far, vector(1, 0.3)))
    alone = find_clones(units, results, threshold=0.99, neighbours_k=1)
    assert [n.unit.qualname for n in alone.neighbours[query]] == ["speak"]
    fused = find_clones(units, results, threshold=0.99, neighbours_k=1, lexical_weight=0.5)
    (best,) = fused.neighbours[query]
    cosine = 1 / math.sqrt(1 + 0.8**2)
    expected = fused_similarity(cosine, jaccard(token_set(query.body, "python"), token_set(twin.body, "python")), 0.5)
    assert best.unit.qualname == "size" and best.similarity == pytest.approx(expected, abs=1e-6)


def test_the_lexical_share_reads_the_token_sets_extraction_took(monkeypatch):
    """Extracted units carry their token sets: clone scoring parses no function again."""
    from codelens.parsing import extract_units
    from codelens.tasks import clone

    text = ("def price(orders, tax):\n    total = 0\n    for order in orders:\n        total += order.price * tax\n"
            "    return total\n\n\ndef cost(orders, tax):\n    acc = 0\n    for order in orders:\n"
            "        acc += order.price * tax\n    return acc\n")
    a, b = extract_units("pkg/a.py", text, "python").units
    lexical_score = clone.jaccard(clone.token_set(a.body), clone.token_set(b.body))
    monkeypatch.setattr(clone, "token_set", lambda *args: pytest.fail("a function was parsed again"))
    units, results = _scan((a, vector(1.0, 0.0)), (b, vector(0.8, 0.6)))
    fused = find_clones(units, results, threshold=0.7, neighbours_k=1, lexical_weight=0.5)
    assert _kinds(fused) == [("price", "cost", "semantic")]
    assert fused.pairs[0].similarity == pytest.approx(0.5 * 0.8 + 0.5 * lexical_score, abs=1e-5)
    assert fused.neighbours[a][0].similarity == pytest.approx(0.5 * 0.8 + 0.5 * lexical_score, abs=1e-5)

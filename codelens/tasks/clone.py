"""Clone detection: pairs of duplicated functions, clone classes, nearest neighbours, CL200 findings.

Three kinds of pair, each found only where the stronger kind does not already hold:
  type-1    equal ``CodeUnit.hash`` (same code up to whitespace and comments)
  type-2    equal ``normalized_hash``, different ``hash`` (renamed identifiers, changed literals)
  semantic  clone score >= threshold, different ``normalized_hash`` (types 3-4): the clone-embedding
            cosine fused with identifier-set Jaccard (``codelens.tasks.lexical``) by the adapter's
            ``clone_lexical`` weight, fitted on validation

Which functions may pair: type-1 needs ``MIN_CLONE_LINES`` / ``MIN_CLONE_TOKENS``; type-2 and semantic
pairs also need ``MIN_SIMILAR_STATEMENTS`` / ``MIN_SIMILAR_TOKENS``, so functions that differ only in
literals and have one or two statements never pair; test code (``codelens.tasks.testcode``) takes part
in nothing, neighbours included, unless ``include_tests``. Two functions are never partners when one is
nested in the other (a function and its closure), or when they are parallel methods of one class
(``PARALLEL_METHODS``: ``__lt__`` / ``__gt__``, ``__add__`` / ``__radd__``), written alike on purpose.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter, defaultdict
from typing import Iterable, Mapping, Sequence

import numpy as np

from codelens.core import ClonePair, CloneReport, CodeUnit, Neighbour, UnitResult, unit_order
from codelens.findings import Finding, Location, Severity
from codelens.rules import rule_of
from codelens.tasks.neighbours import top_k_similar
from codelens.tasks.testcode import is_test_code

RULE = rule_of("clone")
"""The rule of this task's findings."""


CLONE_KINDS = ("type-1", "type-2", "semantic")
MIN_CLONE_LINES = 3
"""Functions with fewer non-blank lines (docstring excluded) never form clone pairs."""
MIN_CLONE_TOKENS = 16
"""Functions with fewer tokens never form clone pairs: getters and one-line wrappers."""
MIN_SIMILAR_STATEMENTS = 3
"""Functions with fewer statements (``CodeUnit.statements``) form exact (type-1) pairs only. Equal
structure is common by design at that size: in CPython's Lib/ (tests left out), 196 of the 445 type-2
groups have one or two statements and nearly all are families written alike on purpose (``__lt__`` /
``__gt__``, ``print_usage`` / ``print_version``, three-attribute ``__init__``s); one-line ``match``
functions of a rule set made one 32-member class. At least 3 also means two functions that differ only
in literals are never a clone pair when they have one or two statements."""
MIN_SIMILAR_TOKENS = 25
"""Functions with fewer tokens (as ``MIN_CLONE_TOKENS`` counts them) form exact pairs only: of the 249
type-2 groups of Lib/ with 3+ statements, the 19 under 25 tokens were idioms and parallel APIs written
alike on purpose (try / except converters, ``__subclasshook__``, ``parseFile`` / ``parseString``); 25 keeps
a 4-statement loop such as ``total_price`` / ``order_value`` (26 and 27 tokens)."""
PARALLEL_METHODS = (
    frozenset({"__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"}),
    frozenset(f"__{prefix}{op}__" for op in ("add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "divmod",
                                              "pow", "lshift", "rshift", "and", "xor", "or")
              for prefix in ("", "r", "i")),
    frozenset({"__neg__", "__pos__", "__abs__", "__invert__"}),
    frozenset({"__int__", "__float__", "__complex__", "__index__", "__bool__", "__round__", "__trunc__", "__floor__",
               "__ceil__"}),
    frozenset({"__getitem__", "__setitem__", "__delitem__"}),
    frozenset({"__getattr__", "__getattribute__", "__setattr__", "__delattr__"}),
    frozenset({"__str__", "__repr__", "__format__"}),
)
"""Families of special methods a class writes alike on purpose (comparisons, an operator and its reflected
and in-place forms, conversions): two methods of one class from one family are never clone partners."""
SEMANTIC_CANDIDATES = 10
"""Most similar functions kept per function when searching semantic clones."""
FULL_LINK_MAX = 16
"""Groups of equal functions up to this size get every pair; bigger ones are linked to their first
member only (a star), which gives the same clone class without a quadratic number of pairs."""
MAX_RELATED = 10
"""Twins listed as related locations on one CL200 finding."""

logger = logging.getLogger(__name__)
_TOKEN = re.compile(r"\w+|[^\w\s]")


def is_trivial(unit: CodeUnit, min_lines: int = MIN_CLONE_LINES, min_tokens: int = MIN_CLONE_TOKENS) -> bool:
    """True for functions too small for a clone of them to be worth reporting."""
    return is_trivial_code(unit.body, min_lines, min_tokens)


def is_trivial_code(body: str, min_lines: int = MIN_CLONE_LINES, min_tokens: int = MIN_CLONE_TOKENS) -> bool:
    """``is_trivial`` of a function's source text (training fits the clone threshold on the same functions)."""
    lines = [line for line in body.splitlines() if line.strip()]
    return len(lines) < min_lines or len(_TOKEN.findall(body)) < min_tokens


def statement_count(unit: CodeUnit) -> int:
    """``unit.statements``; for a unit built without a parser, its non-blank body lines after the first."""
    if unit.statements is not None:
        return unit.statements
    return max(0, sum(1 for line in unit.body.splitlines() if line.strip()) - 1)


def is_small(unit: CodeUnit, min_statements: int = MIN_SIMILAR_STATEMENTS,
             min_tokens: int = MIN_SIMILAR_TOKENS) -> bool:
    """True for functions too small for a type-2 or semantic clone of them to be worth reporting."""
    return statement_count(unit) < min_statements or len(_TOKEN.findall(unit.body)) < min_tokens


def find_clones(units: Sequence[CodeUnit], results: Mapping[str, UnitResult], threshold: float,
                neighbours_k: int = 0, **options) -> CloneReport:
    """Clone pairs of all three kinds, clone classes and (when ``neighbours_k`` > 0) neighbours; ``options``
    as ``find_clone_pairs``'."""
    pairs, neighbours = find_clone_pairs(units, results, threshold, neighbours_k, **options)
    return CloneReport(pairs, clone_classes(pairs), threshold, neighbours)


def find_clone_pairs(units: Sequence[CodeUnit], results: Mapping[str, UnitResult], threshold: float,
                     neighbours_k: int = 0, *, min_lines: int = MIN_CLONE_LINES, min_tokens: int = MIN_CLONE_TOKENS,
                     min_statements: int = MIN_SIMILAR_STATEMENTS, min_similar_tokens: int = MIN_SIMILAR_TOKENS,
                     include_tests: bool = False, semantic_k: int = SEMANTIC_CANDIDATES, block_size: int = 2048,
                     lexical_weight: float = 0.0) -> tuple[list[ClonePair], dict[CodeUnit, tuple[Neighbour, ...]]]:
    """Clone pairs of all three kinds, sorted, and (when ``neighbours_k`` > 0) each function's neighbours;
    the classes are left to the caller (a scan drops the pairs a suppression accepts first).

    ``results`` is keyed by ``CodeUnit.hash``; a function without a result or with an unusable
    embedding still takes part in type-1 and type-2 pairs, which need no model. Test code takes part in
    nothing unless ``include_tests`` (the ``clone-tests`` setting).
    """
    neighbours_k = int(neighbours_k or 0)
    ordered = sorted({unit_order(u): u for u in units}.values(), key=unit_order)
    if not include_tests:
        ordered = [u for u in ordered if not is_test_code(u)]
    eligible = [u for u in ordered if not is_trivial(u, min_lines, min_tokens)]
    similar = [u for u in eligible if not is_small(u, min_statements, min_similar_tokens)]
    pairs: dict[tuple, ClonePair] = {}
    for members in _group(eligible, lambda u: u.hash).values():
        _link(pairs, members, "type-1", 1.0)
    for members in _group(similar, lambda u: u.normalized_hash).values():
        hash_groups = list(_group(members, lambda u: u.hash).values())
        if len(hash_groups) > 1:
            _link_groups(pairs, hash_groups, "type-2", 1.0)
    _semantic_pairs(pairs, _group(similar, lambda u: u.hash), results, threshold, semantic_k, block_size,
                    lexical_weight)
    pair_list = sorted(pairs.values(), key=lambda p: (unit_order(p.a), unit_order(p.b)))
    neighbours = nearest_neighbours(ordered, results, neighbours_k, block_size, lexical_weight) \
        if neighbours_k > 0 else {}
    return pair_list, neighbours


NEIGHBOUR_CANDIDATES = 4
"""With a lexical share in the clone score, each function's top k * this many by embedding are re-ranked by
the fused score (the one CL200 decides on) and the best k kept."""


def nearest_neighbours(units: Sequence[CodeUnit], results: Mapping[str, UnitResult], k: int,
                       block_size: int = 2048, lexical_weight: float = 0.0) -> dict[CodeUnit, tuple[Neighbour, ...]]:
    """The k most similar other functions of each function that has a usable embedding, by the clone score
    CL200 uses: the embedding cosine fused with identifier-set Jaccard by ``lexical_weight``."""
    from codelens.tasks.lexical import fused_similarity, jaccard, unit_token_set

    kept, matrix = _usable([(u, results[u.hash].embedding) for u in units if u.hash in results])
    if matrix is None or k <= 0:
        return {u: () for u in kept}
    wide = k if lexical_weight <= 0.0 else max(k * NEIGHBOUR_CANDIDATES, 20)
    idx, sims = top_k_similar(matrix, wide, block_size=block_size)
    tokens: dict[int, frozenset[str]] = {}

    def words(i: int) -> frozenset[str]:
        if i not in tokens:
            tokens[i] = unit_token_set(kept[i])
        return tokens[i]

    out = {}
    for row, unit in enumerate(kept):
        found = [(int(j), float(s)) for j, s in zip(idx[row], sims[row]) if j >= 0]
        if lexical_weight > 0.0:
            found = [(j, fused_similarity(s, jaccard(words(row), words(j)), lexical_weight)) for j, s in found]
            found.sort(key=lambda pair: (-pair[1], pair[0]))
        out[unit] = tuple(Neighbour(kept[j], _clip(s)) for j, s in found[:k])
    return out


def clone_classes(pairs: Iterable[ClonePair]) -> list[tuple[CodeUnit, ...]]:
    """Connected components of the pair graph (union-find), each sorted, sorted by first member."""
    parent: dict[tuple, tuple] = {}
    units: dict[tuple, CodeUnit] = {}

    def find(key: tuple) -> tuple:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]  # path halving keeps the trees shallow
            key = parent[key]
        return key

    for pair in pairs:
        ka, kb = unit_order(pair.a), unit_order(pair.b)
        units[ka], units[kb] = pair.a, pair.b
        ra, rb = find(ka), find(kb)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[tuple, list[CodeUnit]] = defaultdict(list)
    for key, unit in units.items():
        groups[find(key)].append(unit)
    classes = [tuple(sorted(members, key=unit_order)) for members in groups.values()]
    return sorted(classes, key=lambda c: unit_order(c[0]))


def clone_confidence(pair: ClonePair, threshold: float, scale: float = 1.0) -> float:
    """1.0 for type-1 / type-2; for semantic pairs a logistic map of (similarity - threshold).

    ``scale`` is ``Calibration.clone_scale``, fitted on validation data; at the threshold the
    confidence is 0.5 by construction.
    """
    if pair.kind != "semantic":
        return 1.0
    return 1.0 / (1.0 + math.exp(-scale * (pair.similarity - threshold)))


def clone_findings(report: CloneReport, scale: float = 1.0) -> list[Finding]:
    """One CL200 finding per function in a clone class, naming its twins."""
    best: dict[tuple, ClonePair] = {}
    for pair in report.pairs:
        for unit in (pair.a, pair.b):
            key = unit_order(unit)
            if key not in best or _pair_rank(pair) > _pair_rank(best[key]):
                best[key] = pair
    findings = []
    shown = max(MAX_RELATED, 3)
    for members in report.classes:
        # Members are distinct by key, so a unit's twins are the others: only the first few are named,
        # so only those are built (a class of n members stays O(n), not O(n^2)).
        head = members[:shown + 1]
        for index, unit in enumerate(members):
            twins = [m for i, m in enumerate(head) if i != index][:shown]
            top = best[unit_order(unit)]
            confidence = clone_confidence(top, report.threshold, scale)
            findings.append(Finding(
                code=RULE.code, rule=RULE.name, path=unit.path, start_line=unit.start_line, end_line=unit.end_line,
                qualname=unit.qualname, message=_message(unit, twins, top, len(members) - 1), severity=Severity.LOW,
                confidence=confidence, unit_hash=unit.hash,
                related=tuple(Location(t.path, t.start_line, t.end_line, t.qualname) for t in twins[:MAX_RELATED]),
                extra={"similarity": top.similarity, "kind": top.kind, "class_size": len(members)},
            ))
    return findings


def member_findings(pairs: Iterable[ClonePair]) -> list[Finding]:
    """The CL200 finding each function of ``pairs`` gets, bare (no message, no twins): what a suppression
    comment is matched against before the clone classes are known."""
    members = {unit.key: unit for pair in pairs for unit in (pair.a, pair.b)}
    return [Finding(code=RULE.code, rule=RULE.name, path=u.path, start_line=u.start_line, end_line=u.end_line,
                    qualname=u.qualname, message="", severity=Severity.LOW, confidence=1.0, unit_hash=u.hash)
            for u in sorted(members.values(), key=unit_order)]


def _message(unit: CodeUnit, twins: list[CodeUnit], top: ClonePair, count: int) -> str:
    shown = ", ".join(f"{t.qualname} ({t.path}:{t.start_line})" for t in twins[:3])
    more = f" and {count - 3} more" if count > 3 else ""
    return f"{unit.qualname} duplicates {shown}{more} ({top.kind}, similarity {top.similarity:.2f})"


def _pair_rank(pair: ClonePair) -> tuple:
    # Exact kinds outrank semantic ones, then higher similarity; on a tie the first pair in
    # sorted order stays, so the choice is deterministic.
    return (-CLONE_KINDS.index(pair.kind), pair.similarity)


def _group(units: Iterable[CodeUnit], key) -> dict[str, list[CodeUnit]]:
    groups: dict[str, list[CodeUnit]] = defaultdict(list)
    for unit in units:
        groups[key(unit)].append(unit)
    return {k: v for k, v in groups.items()}


def never_partners(a: CodeUnit, b: CodeUnit) -> bool:
    """Whether ``a`` and ``b`` may not form a clone pair whatever their code: one is defined inside the
    other, or they are methods of one class from one ``PARALLEL_METHODS`` family."""
    if a.path != b.path:
        return False
    outer, inner = (a, b) if a.start_line <= b.start_line else (b, a)
    if inner.qualname.startswith(outer.qualname + ".") and inner.end_line <= outer.end_line:
        return True
    owner_a, _, name_a = a.qualname.rpartition(".")
    owner_b, _, name_b = b.qualname.rpartition(".")
    return bool(owner_a) and owner_a == owner_b and any(name_a in f and name_b in f for f in PARALLEL_METHODS)


def _add(pairs: dict, a: CodeUnit, b: CodeUnit, kind: str, similarity: float) -> None:
    ka, kb = unit_order(a), unit_order(b)
    if ka == kb or never_partners(a, b):
        return
    if kb < ka:
        a, b, ka, kb = b, a, kb, ka
    pairs.setdefault((ka, kb), ClonePair(a, b, similarity, kind))


def _link(pairs: dict, members: list[CodeUnit], kind: str, similarity: float) -> None:
    """All pairs within a small group, a star from the first member within a big one."""
    if len(members) <= FULL_LINK_MAX:
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                _add(pairs, a, b, kind, similarity)
    else:
        for b in members[1:]:
            _add(pairs, members[0], b, kind, similarity)


def _link_groups(pairs: dict, groups: list[list[CodeUnit]], kind: str, similarity: float) -> None:
    """Pairs across groups (never within one): every cross pair when few, else group heads only."""
    if sum(len(g) for g in groups) <= FULL_LINK_MAX:
        for i, group_a in enumerate(groups):
            for group_b in groups[i + 1:]:
                for a in group_a:
                    for b in group_b:
                        _add(pairs, a, b, kind, similarity)
    else:
        _link(pairs, [g[0] for g in groups], kind, similarity)


def _semantic_pairs(pairs: dict, by_hash: dict[str, list[CodeUnit]], results: Mapping[str, UnitResult],
                    threshold: float, semantic_k: int, block_size: int, lexical_weight: float = 0.0) -> None:
    from codelens.tasks.lexical import cosine_floor, fused_similarity, jaccard, unit_token_set

    # Search over distinct hashes: copies share one result, so one row stands for all of them.
    hashes, matrix = _usable([(d, results[d].embedding) for d in by_hash if d in results])
    if matrix is None or len(hashes) < 2 or semantic_k <= 0:
        return
    # With a lexical share in the score, candidates come from the embedding search down to the lowest
    # cosine that a perfect Jaccard could still lift to the threshold; the fused score then decides.
    idx, sims = top_k_similar(matrix, semantic_k, min_similarity=cosine_floor(threshold, lexical_weight),
                              block_size=block_size)
    tokens: dict[str, frozenset[str]] = {}

    def words(digest: str) -> frozenset[str]:
        if digest not in tokens:
            tokens[digest] = unit_token_set(by_hash[digest][0])
        return tokens[digest]

    for row, cols in enumerate(idx):
        for col, sim in zip(cols, sims[row]):
            if col < 0:
                continue  # fewer than semantic_k functions above the floor
            a, b = hashes[row], hashes[int(col)]
            group_a, group_b = by_hash[a], by_hash[b]
            if group_a[0].normalized_hash == group_b[0].normalized_hash:
                continue  # already a type-2 pair
            score = float(sim)
            if lexical_weight > 0.0:
                score = fused_similarity(score, jaccard(words(a), words(b)), lexical_weight)
                if score < threshold:
                    continue
            _link_groups(pairs, [group_a, group_b], "semantic", _clip(score))


def _usable(items: list[tuple]) -> tuple[list, np.ndarray | None]:
    """Keys and a matrix of unit vectors, for the embeddings that can be compared.

    Missing, empty, non-finite or zero embeddings are left out, and so are any whose size differs
    from the most common one (results of another adapter mixed in through a cache).
    """
    keys, vectors = [], []
    for key, embedding in items:
        if embedding is None:
            continue
        vec = np.asarray(embedding, dtype=np.float32).reshape(-1)
        norm = float(np.linalg.norm(vec)) if vec.size else 0.0
        if vec.size and math.isfinite(norm) and norm > 0.0:
            keys.append(key)
            # The engine returns unit vectors already; renormalising guards hand-made or cached ones.
            vectors.append(vec / norm)
    if not vectors:
        return [], None
    sizes = Counter(v.size for v in vectors)
    size = max(sizes, key=lambda s: (sizes[s], s))
    if len(sizes) > 1:
        logger.warning("clone embeddings of sizes %s are mixed (results from another adapter?); "
                       "only those of size %d are compared", sorted(sizes), size)
        keys = [key for key, v in zip(keys, vectors) if v.size == size]
        vectors = [v for v in vectors if v.size == size]
    return keys, np.stack(vectors)


def _clip(similarity: float) -> float:
    return float(min(1.0, max(-1.0, float(similarity))))

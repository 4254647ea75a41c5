"""Clone detection: pairs of duplicated functions, clone classes, nearest neighbours, CL200 findings.

Three kinds of pair, each found only where the stronger kind does not already hold:
  type-1    equal ``CodeUnit.hash`` (same code up to whitespace and comments)
  type-2    equal ``normalized_hash``, different ``hash`` (renamed identifiers, changed literals)
  semantic  clone score >= threshold, different ``normalized_hash`` (types 3-4): the clone-embedding
            cosine fused with identifier-set Jaccard (``jaccard``, below) by the adapter's
            ``clone_lexical`` weight, fitted on validation

Which functions may pair: type-1 needs ``MIN_CLONE_LINES`` / ``MIN_CLONE_TOKENS``; type-2 and semantic
pairs also need ``MIN_SIMILAR_STATEMENTS`` / ``MIN_SIMILAR_TOKENS``, so functions that differ only in
literals and have one or two statements never pair; test code (``codelens.tasks.testcode``) takes part
in nothing, neighbours included, unless ``include_tests``. Two functions are never partners when one is
nested in the other (a function and its closure), or when they are parallel methods of one class
(``PARALLEL_METHODS``: ``__lt__`` / ``__gt__``, ``__add__`` / ``__radd__``), written alike on purpose.

The module ends with the two measures the pairs and neighbours rest on: the lexical similarity
(``jaccard``, ``fused_similarity``) and the exact top-k embedding search (``top_k_similar``).
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


# Lexical similarity: the Jaccard similarity of two functions' identifier-and-keyword sets.
#
# SourcererCC's idea: code written by copying keeps most of its names and keywords, whatever the layout,
# the comments or the literals. It is the model-free baseline clone embeddings have to beat, and the
# lexical half of the score they are fused with. Tokens come from codelens' own tree-sitter token streams
# (``parsing.normalize.tokenize``): identifiers and keywords are kept, punctuation, operators, literals
# and comments are not, so ``"value"`` in a string is not the name ``value``.
#
# Measured on the independently written clones of held-out packages (benchmarks/baselines.py's data),
# MAP@R test / val: these tokens 0.544 / 0.453; a ``[A-Za-z_][A-Za-z0-9_]*`` regex over the text
# 0.468 / 0.402 (words of strings and comments add noise), 0.543 / 0.451 once strings and comments are cut
# out first, which needs a second, per-language tokenizer. The tree-sitter sets cost about 150-200 µs a
# function when parsed again against 20 µs for the regex, so a scan takes them from the token streams
# extraction already builds (``CodeUnit.token_set``).


def token_set(code: str, language: str = "python") -> frozenset[str]:
    """The identifiers and keywords of ``code`` (a function's source or body), as a set, parsed on its own.

    Extraction gives each CodeUnit the same set of its body (``CodeUnit.token_set``, the same
    ``TokenStream.words`` over the tokens it walked): ``unit_token_set`` reads it from there."""
    from codelens.parsing.normalize import tokenize
    from codelens.parsing.walk import TokenStream

    tokens, src = tokenize(code, language)
    return TokenStream.of(tokens, src).words(0, len(src), None)


def unit_token_set(unit: CodeUnit) -> frozenset[str]:
    """``token_set`` of a unit's body: the set extraction took, computed here only for a unit built without it."""
    return unit.token_set if unit.token_set is not None else token_set(unit.body, unit.language)


def jaccard(a: frozenset[str] | set[str], b: frozenset[str] | set[str]) -> float:
    """|a & b| / |a | b|; 0.0 when both are empty."""
    if not a and not b:
        return 0.0
    common = len(a & b)
    return common / (len(a) + len(b) - common)


def jaccard_matrix(sets: Sequence[frozenset[str]]) -> np.ndarray:
    """All-pairs Jaccard similarity (float32, n x n, 1 on the diagonal of non-empty sets).

    An inverted index counts each row's intersections with one ``bincount`` over the postings of its
    tokens, so the cost follows the tokens sets share rather than n^2 Python set operations.
    """
    n = len(sets)
    postings: dict[str, list[int]] = {}
    for index, tokens in enumerate(sets):
        for token in tokens:
            postings.setdefault(token, []).append(index)
    arrays = {token: np.asarray(rows, dtype=np.int64) for token, rows in postings.items()}
    sizes = np.asarray([len(s) for s in sets], dtype=np.float32)
    out = np.zeros((n, n), dtype=np.float32)
    for index, tokens in enumerate(sets):
        if not tokens:
            continue
        common = np.bincount(np.concatenate([arrays[t] for t in tokens]), minlength=n).astype(np.float32)
        out[index] = common / (sizes[index] + sizes - common)
    return out


def fused_similarity(cosine, lexical, weight: float):
    """The clone score: ``(1 - weight) * cosine + weight * lexical`` (scalars or arrays alike). ``weight``
    is ``Thresholds.clone_lexical``, fitted on validation: 0 is the embedding alone."""
    return (1.0 - weight) * cosine + weight * lexical


def cosine_floor(threshold: float, weight: float) -> float:
    """The lowest cosine at which a pair can still reach ``threshold`` once fused (Jaccard is at most 1):
    the embedding search only needs to look above it."""
    if weight <= 0.0:
        return threshold
    return max(-1.0, (threshold - weight) / (1.0 - weight))


# Top-k search: exact top-k cosine neighbours over many embeddings, in bounded memory.
#
# The similarity matrix of n embeddings is n x n (100k functions: 40 GB in float32), so it is never
# built. It is computed tile by tile (``block_size`` x ``block_size``); only tiles on or above the
# diagonal are multiplied, each one serving both its rows and its columns. Every row keeps its k best
# (similarity, index) so far and an admission bar: its k-th best, or ``min_similarity``, or at the
# start a lower bound from a sample of rows. One comparison of the tile with the lowest bar among its
# rows and columns leaves a few entries (about 1% on random data, far fewer on clustered code), and
# only those are checked against their own rows' bars and merged, so selection costs about as much as
# one pass over the tile next to the matrix product.
#
# The result is the brute-force top-k, listed by (similarity descending, index ascending). Where
# several candidates tie exactly for a row's last slot, the one seen first keeps it; and products
# computed in different tiles can differ in the last bit, so among copies of one embedding which copy
# is listed can depend on the block size.

DEFAULT_BLOCK = 2048
"""Tile side: a 2048 x 2048 float32 tile is 16 MiB, small enough to stay near the CPU caches."""


def top_k_similar(embeddings: np.ndarray, k: int, *, min_similarity: float | None = None,
                  block_size: int = DEFAULT_BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """The k most similar other rows of each row, by dot product (cosine for L2-normalised rows).

    Returns ``(indices, similarities)``, both (n, min(k, n - 1)), best first. Slots a row could not
    fill (fewer than k other rows at or above ``min_similarity``) hold index -1 and similarity -inf.
    A row is never its own neighbour; identical rows elsewhere are.
    """
    emb = np.ascontiguousarray(embeddings, dtype=np.float32)
    if emb.ndim != 2:
        raise ValueError(f"embeddings must be 2-D (n, dim), got shape {emb.shape}")
    if not np.isfinite(emb).all():
        raise ValueError("embeddings must be finite; drop rows holding NaN or inf first")
    n = emb.shape[0]
    k = min(int(k), n - 1)
    if k <= 0:
        return np.full((n, 0), -1, np.int64), np.full((n, 0), -np.inf, np.float32)
    if block_size < 1:
        raise ValueError(f"block_size must be positive, got {block_size}")
    state = _TopK(n, k, min_similarity)
    state.raise_bars(_seed_bars(emb, k, block_size))
    hits_buffers: dict[tuple[int, int], np.ndarray] = {}
    tile_buffers: dict[tuple[int, int], np.ndarray] = {}
    for r0 in range(0, n, block_size):
        r1 = min(r0 + block_size, n)
        for c0 in range(r0, n, block_size):
            c1 = min(c0 + block_size, n)
            shape = (r1 - r0, c1 - c0)
            if shape not in tile_buffers:
                # One buffer per tile shape spares a page-faulting allocation per tile.
                tile_buffers[shape] = np.empty(shape, np.float32)
                hits_buffers[shape] = np.empty(shape, bool)
            tile = np.matmul(emb[r0:r1], emb[c0:c1].T, out=tile_buffers[shape])
            hits = hits_buffers[shape]
            if c0 == r0:
                np.fill_diagonal(tile, -np.inf)
            if not state.offer_both(tile, r0, c0, hits, both=c0 != r0):
                state.offer(tile, r0, c0, hits, by_row=True)
                if c0 != r0:
                    state.offer(tile, r0, c0, hits, by_row=False)
    return state.result()


def all_pairs_top_k(embeddings: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference top-k from the full n x n matrix: for tests and benchmarks on small n only."""
    emb = np.ascontiguousarray(embeddings, dtype=np.float32)
    n = emb.shape[0]
    k = min(int(k), n - 1)
    if k <= 0:
        return np.full((n, 0), -1, np.int64), np.full((n, 0), -np.inf, np.float32)
    sims = emb @ emb.T
    np.fill_diagonal(sims, -np.inf)
    cols = np.broadcast_to(np.arange(n), sims.shape)
    order = np.lexsort((cols, -sims), axis=1)[:, :k]
    return order.astype(np.int64), np.take_along_axis(sims, order, axis=1)


SEED_SAMPLE = 2048
"""Rows every row is first compared with, to start its admission bar near its final k-th best."""


def _seed_bars(emb: np.ndarray, k: int, block_size: int) -> np.ndarray | None:
    """A lower bound on each row's final k-th best similarity: its k-th best within a sample.

    Without it, a row's first tiles admit nearly every entry. The bound is lowered by a margin
    above the rounding error of a float32 dot product, because the tiles recompute the same
    products in other kernels and a true neighbour must not fall just below its own bar.
    """
    n = emb.shape[0]
    sample = np.unique(np.linspace(0, n - 1, min(n, SEED_SAMPLE)).round().astype(np.int64))
    if sample.size <= k + 1:
        return None
    bars = np.empty(n, np.float32)
    for r0 in range(0, n, block_size):
        r1 = min(r0 + block_size, n)
        sims = emb[r0:r1] @ emb[sample].T
        own = np.searchsorted(sample, np.arange(r0, r1))
        inside = np.flatnonzero((own < sample.size) & (sample[np.minimum(own, sample.size - 1)] == np.arange(r0, r1)))
        sims[inside, own[inside]] = -np.inf
        bars[r0:r1] = np.partition(sims, sample.size - k, axis=1)[:, sample.size - k]
    norms = np.linalg.norm(emb, axis=1)
    return bars - np.float32(1e-4) * norms * norms.max()


class _TopK:
    """Running k best (similarity, index) per row, kept sorted best first."""

    def __init__(self, n: int, k: int, min_similarity: float | None) -> None:
        self.k = k
        self.sims = np.full((n, k), -np.inf, np.float32)
        self.idx = np.full((n, k), -1, np.int64)
        # A candidate is admitted when strictly above its row's bar. The bar starts just below
        # min_similarity (which is inclusive) and rises to the k-th best once a row is full; a
        # candidate equal to a full row's k-th best is not admitted, so copies cannot flood the merge.
        floor = -np.inf if min_similarity is None else np.nextafter(np.float32(min_similarity), np.float32(-np.inf))
        self.floor = np.float32(floor)
        self.bar = np.full(n, self.floor, np.float32)

    def raise_bars(self, bars: np.ndarray | None) -> None:
        """Start rows' bars at known lower bounds of their final k-th best similarity."""
        if bars is not None:
            np.maximum(self.bar, bars, out=self.bar)

    def offer_both(self, tile: np.ndarray, r0: int, c0: int, hits: np.ndarray, *, both: bool) -> bool:
        """Serve the tile's rows (and, when ``both``, its columns) in one pass, if that is cheap.

        One comparison with the lowest bar of all the tile's rows and columns finds a superset of
        the candidates of both sides; each side then checks its own bars on those few entries only.
        When the lowest bar is too low to thin the tile out (early rows, outliers), returns False
        and the caller serves each side with its own bars instead.
        """
        height, width = tile.shape
        row_bars = self.bar[r0:r0 + height]
        col_bars = self.bar[c0:c0 + width]
        lowest = min(row_bars.min(), col_bars.min()) if both else row_bars.min()
        np.greater(tile, lowest, out=hits)
        # flatnonzero on the flat mask is an order of magnitude faster than 2-D np.nonzero.
        flat = np.flatnonzero(hits)
        if flat.size > tile.size // 32:
            return False
        tile_rows, tile_cols = np.divmod(flat, width)
        sims = tile.ravel()[flat]
        for owners, others, bars, owner0, other0 in (
            (tile_rows, tile_cols, row_bars, r0, c0),
            (tile_cols, tile_rows, col_bars, c0, r0),
        )[: 2 if both else 1]:
            admitted = sims > bars[owners]
            if admitted.any():
                self._merge(owner0 + owners[admitted], sims[admitted], other0 + others[admitted])
        return True

    def offer(self, tile: np.ndarray, r0: int, c0: int, hits: np.ndarray, *, by_row: bool) -> None:
        """Merge what ``tile`` (rows r0.., columns c0..) holds for its rows, or for its columns."""
        height, width = tile.shape
        bars = self.bar[r0:r0 + height, None] if by_row else self.bar[None, c0:c0 + width]
        np.greater(tile, bars, out=hits)
        flat = np.flatnonzero(hits)
        if flat.size == 0:
            return
        if flat.size > tile.size // 8 and self.k < min(height, width) // 8:
            # A flood (many equal embeddings, or no useful bar yet): cut each row (or column) of
            # the tile to its own k best first rather than sorting most of the tile.
            flat = self._dense_candidates(tile, hits, by_row)
        tile_rows, tile_cols = np.divmod(flat, width)
        sims = tile.ravel()[flat]
        if by_row:
            self._merge(r0 + tile_rows, sims, c0 + tile_cols)
        else:
            self._merge(c0 + tile_cols, sims, r0 + tile_rows)

    def _dense_candidates(self, tile: np.ndarray, hits: np.ndarray, by_row: bool) -> np.ndarray:
        axis = 1 if by_row else 0
        length = tile.shape[axis]
        if self.k >= length:
            return np.flatnonzero(hits)
        best = np.argpartition(tile, length - self.k, axis=axis)
        if by_row:
            rows = np.arange(tile.shape[0])[:, None]
            cols = best[:, length - self.k:]
        else:
            rows = best[length - self.k:, :]
            cols = np.arange(tile.shape[1])[None, :]
        rows, cols = np.broadcast_arrays(rows, cols)
        keep = hits[rows, cols]
        return np.sort(rows[keep] * tile.shape[1] + cols[keep])

    def _merge(self, rows: np.ndarray, sims: np.ndarray, cols: np.ndarray) -> None:
        # Merge candidates with the touched rows' current best in one flat sort by row, then
        # similarity descending, then keep the first k of each row group (every group holds at
        # least k: the row's current slots, empty ones included). One float64 key sorts far faster
        # than a three-key lexsort; it keeps float32 similarities apart (resolution ~1e-10), and
        # clipping maps empty slots (-inf) below every real similarity within the row's range.
        mark = np.zeros(self.bar.size, bool)
        mark[rows] = True
        touched = np.flatnonzero(mark)
        k = self.k
        flat_rows = np.concatenate([np.repeat(touched, k), rows])
        flat_sims = np.concatenate([self.sims[touched].ravel(), sims.astype(np.float32)])
        flat_idx = np.concatenate([self.idx[touched].ravel(), cols.astype(np.int64)])
        key = flat_rows * 8.0 + (1.0 - np.clip(flat_sims.astype(np.float64), -6.0, 1.0))
        order = np.argsort(key)
        flat_rows, flat_sims, flat_idx = flat_rows[order], flat_sims[order], flat_idx[order]
        starts = np.flatnonzero(np.r_[True, flat_rows[1:] != flat_rows[:-1]])
        rank = np.arange(flat_rows.size) - np.repeat(starts, np.diff(np.r_[starts, flat_rows.size]))
        keep = rank < k
        best_sims = flat_sims[keep].reshape(-1, k)
        self.sims[touched] = best_sims
        self.idx[touched] = flat_idx[keep].reshape(-1, k)
        self.bar[touched] = np.maximum(self.bar[touched], best_sims[:, -1])

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """Each row's neighbours ordered by similarity descending, then index ascending."""
        tie_key = np.where(self.idx < 0, np.iinfo(np.int64).max, self.idx)
        order = np.lexsort((tie_key, -self.sims), axis=1)
        return np.take_along_axis(self.idx, order, axis=1), np.take_along_axis(self.sims, order, axis=1)

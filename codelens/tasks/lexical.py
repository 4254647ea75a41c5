"""Lexical overlap of two functions: the Jaccard similarity of their identifier-and-keyword sets.

SourcererCC's idea: code written by copying keeps most of its names and keywords, whatever the layout,
the comments or the literals. It is the model-free baseline clone embeddings have to beat, and the
lexical half of the score they are fused with. Tokens come from codelens' own tree-sitter token streams
(``parsing.normalize.tokenize``): identifiers and keywords are kept, punctuation, operators, literals
and comments are not, so ``"value"`` in a string is not the name ``value``.

Measured on the independently written clones of held-out packages (benchmarks/baselines.py's data),
MAP@R test / val: these tokens 0.544 / 0.453; a ``[A-Za-z_][A-Za-z0-9_]*`` regex over the text 0.468 / 0.402 (words
of strings and comments add noise), 0.543 / 0.451 once strings and comments are cut out first, which needs
a second, per-language tokenizer. The tree-sitter sets cost about 150-200 µs a function when parsed again
against 20 µs for the regex, so a scan takes them from the token streams extraction already builds
(``CodeUnit.token_set``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from codelens.core import CodeUnit
from codelens.parsing.normalize import tokenize
from codelens.parsing.walk import TokenStream


def token_set(code: str, language: str = "python") -> frozenset[str]:
    """The identifiers and keywords of ``code`` (a function's source or body), as a set, parsed on its own.

    Extraction gives each CodeUnit the same set of its body (``CodeUnit.token_set``, the same
    ``TokenStream.words`` over the tokens it walked): ``unit_token_set`` reads it from there."""
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

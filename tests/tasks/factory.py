"""Hand-built CodeUnits and UnitResults for task and reporter tests (no parser, no model)."""

from __future__ import annotations

import hashlib

import numpy as np

from codelens.core import CodeUnit, LocatedBug, Span, UnitResult


def body(name: str, statements: int = 4) -> str:
    """A function of ``statements`` + 1 lines, big enough to count as a clone candidate."""
    lines = [f"def {name}(items, limit):"]
    lines += [f"    value_{i} = compute(items, limit, {i}) + offset_{i}" for i in range(statements)]
    return "\n".join(lines)


def unit(qualname: str, path: str = "pkg/a.py", start: int = 1, source: str | None = None, *,
         digest: str | None = None, normalized: str | None = None, docstring: str | None = None,
         language: str = "python") -> CodeUnit:
    """A CodeUnit; hash defaults to sha256 of the source, normalized_hash to the hash."""
    source = source if source is not None else body(qualname.rsplit(".", 1)[-1])
    digest = digest or hashlib.sha256(source.encode("utf-8")).hexdigest()
    end = start + source.count("\n")
    return CodeUnit(
        path=path, language=language, qualname=qualname, span=Span(start, end, 0, len(source)),
        source=source, docstring=docstring, body=source, hash=digest, normalized_hash=normalized or digest,
    )


def vector(*weights: float, dim: int = 8) -> np.ndarray:
    """A unit vector from its first coordinates."""
    vec = np.zeros(dim, np.float32)
    vec[: len(weights)] = weights
    return vec / np.linalg.norm(vec)


def result(u: CodeUnit, probability: float = 0.1, embedding: np.ndarray | None = None,
           summary: str | None = None, cached: bool = False, bug: LocatedBug | None = None) -> UnitResult:
    """The UnitResult of ``u``; the default embedding is a unit vector derived from its hash."""
    if embedding is None:
        rng = np.random.default_rng(int(u.hash[:8], 16))
        embedding = rng.standard_normal(8).astype(np.float32)
        embedding /= np.linalg.norm(embedding)
    logit = float(np.log(probability / (1 - probability))) if 0 < probability < 1 else 0.0
    return UnitResult(hash=u.hash, defect_probability=probability, defect_logit=logit,
                      embedding=np.asarray(embedding, np.float32), summary=summary, cached=cached, bug=bug)


def located(u: CodeUnit, text: str, repair: str | None, kind: str = "variable-misuse", nth: int = 0) -> LocatedBug:
    """A located bug at the ``nth`` occurrence of ``text`` in ``u``'s body."""
    start = -1
    for _ in range(nth + 1):
        start = u.body.index(text, start + 1)
    return LocatedBug(start, start + len(text), kind, text, repair, 0.8, 0.9 if repair else None)


def results_for(*pairs: tuple[CodeUnit, UnitResult]) -> dict[str, UnitResult]:
    return {u.hash: r for u, r in pairs}

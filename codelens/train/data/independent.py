"""Clone positives written independently, mined from a corpus of repositories (no labels needed).

Transforms of one function (clones.py) teach a model that layout and names do not matter; they cannot
teach it that two people solving one problem write different code. Three kinds of evidence can:

  docstring            a function and the first sentence of its own docstring: cross-modal pairs
                       (``SummaryExample``: body without the docstring -> sentence), for a contrastive
                       code <-> text loss
  same-name-docstring  functions in different repositories with the same own name and (nearly) the
                       same normalised first docstring sentence
  override             methods of one name in classes of one repository where one subclasses the other
                       or both subclass the same base (``object``, ``ABC``, exceptions ... do not count)

Copies are not independent: a pair whose functions have the same type-2 key (equal up to names and
literals, as CL200 sees them) is left out, and so are abstract stubs (``raise NotImplementedError``).
Negatives: per positive, the function of the member's file with the most similar name (hard) and a random
function of the split; each negative is used once and belongs to no class. Everything is
mined per split, from the repository split of functions.py, so a pair never crosses splits and the
test split comes from repositories never trained on. Deterministic for a seed.
"""

from __future__ import annotations

import difflib
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from codelens.train.data import CloneExample, ClonePair, SummaryExample
from codelens.train.data.functions import Function, Repository
from codelens.train.data.summaries import first_sentence

INDEPENDENT_KINDS = ("same-name-docstring", "override")
"""``CloneExample.kind`` / ``ClonePair.kind`` of the positives mined here."""
DOC_SIMILARITY = 0.9
"""Normalised first sentences at least this similar (difflib ratio) count as the same description."""
MIN_DOC_WORDS = 4
"""Shorter sentences ("Return the value.") describe too little to make two functions clones."""
MAX_CLASS = 8
"""Members kept per clone class (a method overridden in 40 subclasses would swamp the rest)."""
MIN_TOKENS = 20
"""Functions with fewer word / punctuation tokens are stubs or one-liners, not evidence."""
TRIVIAL_BASES = frozenset({"object", "ABC", "Generic", "Protocol", "NamedTuple", "TypedDict", "Enum", "IntEnum",
                           "Exception", "BaseException", "type", "Any"})
"""Bases so common that sharing one says nothing about two classes."""
_TOKEN = re.compile(r"\w+|[^\w\s]")
_WORDS = re.compile(r"[a-z0-9]+")


@dataclass
class IndependentData:
    """What ``mine_independent`` found, every list in a fixed order."""

    clones: list[CloneExample] = field(default_factory=list)
    """Members of the independent clone classes (``group``: the class, ``kind``: how it was mined)."""
    pairs: list[ClonePair] = field(default_factory=list)
    """Positives (label 1, the class's kind: each member with the class's first) and negatives (label 0):
    per positive a ``hard-negative`` (same file, most similar name) and a ``random-negative`` (same split)."""
    docstrings: list[SummaryExample] = field(default_factory=list)
    """Cross-modal pairs: a function body without its docstring and its docstring's first sentence."""
    distractors: list[CloneExample] = field(default_factory=list)
    """The negatives as single-member classes (``kind`` as in ``pairs``): the distractors of retrieval metrics."""


def normalised_sentence(docstring: str | None) -> str | None:
    """The first docstring sentence lower-cased to its words, or None when it says too little."""
    sentence = first_sentence(docstring)
    words = _WORDS.findall(sentence.lower()) if sentence else []
    return " ".join(words) if len(words) >= MIN_DOC_WORDS else None


def own_name(qualname: str) -> str:
    """The last part of a qualified name: ``Parser.parse`` -> ``parse``."""
    return qualname.rpartition(".")[2]


def class_bases(text: str) -> dict[str, tuple[str, ...]]:
    """Qualified class name -> the simple names of its bases, for every class of a Python file."""
    from codelens.parsing.registry import get_parser

    root = get_parser("tree_sitter_python", "language").parse(text.encode("utf-8", "surrogatepass")).root_node
    out: dict[str, tuple[str, ...]] = {}
    stack = [(root, "")]
    while stack:
        node, prefix = stack.pop()
        for child in node.named_children:
            target = child.child_by_field_name("definition") if child.type == "decorated_definition" else child
            if target is None or target.type != "class_definition":
                if child.type in ("block", "if_statement", "try_statement", "else_clause", "except_clause"):
                    stack.append((child, prefix))
                continue
            name = target.child_by_field_name("name").text.decode("utf-8", "replace")
            qualified = f"{prefix}{name}"
            arguments = target.child_by_field_name("superclasses")
            bases = []
            for base in arguments.named_children if arguments is not None else ():
                base = base.child_by_field_name("value") if base.type == "subscript" else base
                if base is not None and base.type in ("identifier", "attribute"):
                    bases.append(base.text.decode("utf-8", "replace").rpartition(".")[2])
            out[qualified] = tuple(bases)
            body = target.child_by_field_name("body")
            if body is not None:
                stack.append((body, qualified + "."))
    return out


def _usable(fn: Function) -> bool:
    name = own_name(fn.qualname)
    if name.startswith("__") and name.endswith("__"):
        return False  # dunders share boilerplate, not purpose
    return len(_TOKEN.findall(fn.body)) >= MIN_TOKENS and "NotImplementedError" not in fn.body


def _type2_key(fn: Function) -> str:
    from codelens.parsing import source_hashes

    return source_hashes(fn.body, fn.language)[1]


def _distinct(members: list[Function]) -> list[Function]:
    """Members with pairwise different type-2 keys (a copy is not an independent clone), first kept."""
    seen: set[str] = set()
    out = []
    for fn in members:
        key = _type2_key(fn)
        if key not in seen:
            seen.add(key)
            out.append(fn)
    return out


def _components(nodes: list[Function], linked) -> list[list[Function]]:
    """Connected groups of ``nodes`` under ``linked(a, b)``, in input order."""
    parent = list(range(len(nodes)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(nodes)):
        for j in range(i + 1, len(nodes)):
            if find(i) != find(j) and linked(nodes[i], nodes[j]):
                parent[max(find(i), find(j))] = min(find(i), find(j))
    groups: dict[int, list[Function]] = {}
    for i, fn in enumerate(nodes):
        groups.setdefault(find(i), []).append(fn)
    return [g for g in groups.values() if len(g) > 1]


def same_name_classes(functions: list[Function]) -> list[list[Function]]:
    """Classes of same-named functions from different repositories whose descriptions match."""
    by_name: dict[str, list[tuple[Function, str]]] = {}
    for fn in functions:
        sentence = normalised_sentence(fn.docstring)
        if sentence is not None and _usable(fn):
            by_name.setdefault(own_name(fn.qualname), []).append((fn, sentence))
    sentences = {fn.origin: sentence for entries in by_name.values() for fn, sentence in entries}

    def linked(a: Function, b: Function) -> bool:
        return a.repo != b.repo and difflib.SequenceMatcher(
            None, sentences[a.origin], sentences[b.origin]).ratio() >= DOC_SIMILARITY

    out = []
    for name in sorted(by_name):
        entries = by_name[name]
        if len({fn.repo for fn, _ in entries}) < 2:
            continue
        for group in _components([fn for fn, _ in entries], linked):
            first_of_repo: dict[str, Function] = {}
            for fn in group:
                first_of_repo.setdefault(fn.repo, fn)
            out.append(list(first_of_repo.values()))
    return out


def override_classes(functions: list[Function], bases: dict[str, dict[str, tuple[str, ...]]]) -> list[list[Function]]:
    """Classes of overrides of one method, per repository. ``bases``: repository -> class -> base names."""
    out = []
    by_method: dict[tuple[str, str], list[Function]] = {}
    for fn in functions:
        owner, _, name = fn.qualname.rpartition(".")
        if owner and owner in bases.get(fn.repo, {}) and _usable(fn):
            by_method.setdefault((fn.repo, name), []).append(fn)
    for (repo, _), methods in sorted(by_method.items()):
        known = bases[repo]
        simple = {}  # simple class name -> its bases, for following base names across files
        for qualified, names in known.items():
            simple.setdefault(qualified.rpartition(".")[2], set()).update(names)

        found: dict[str, set[str]] = {}

        def ancestors(cls: str) -> set[str]:
            if cls not in found:
                seen, todo = set(), list(simple.get(cls, ()))
                while todo:
                    base = todo.pop()
                    if base not in seen and base not in TRIVIAL_BASES:
                        seen.add(base)
                        todo.extend(simple.get(base, ()))
                found[cls] = seen
            return found[cls]

        def linked(a: Function, b: Function) -> bool:
            ca, cb = (own_name(f.qualname.rpartition(".")[0]) for f in (a, b))
            up_a, up_b = ancestors(ca), ancestors(cb)
            return ca != cb and (ca in up_b or cb in up_a or bool(up_a & up_b))

        out += _components(methods, linked)
    return out


def _hard_negative(head: Function, taken: set[str], by_file: dict[tuple[str, str], list[Function]]) -> Function | None:
    """The function of ``head``'s file, in no clone class, whose name is most like ``head``'s."""
    near = [fn for fn in by_file.get((head.repo, head.path), []) if fn.origin not in taken]
    if not near:
        return None
    name = own_name(head.qualname)
    return max(near, key=lambda fn: (difflib.SequenceMatcher(None, own_name(fn.qualname), name).ratio(), fn.origin))


def mine_independent(functions: list[Function], repos: list[Repository] | None = None, seed: int = 0,
                     max_class: int = MAX_CLASS) -> IndependentData:
    """Independent clone classes, pairs and cross-modal pairs of ``functions`` (see the module docstring).

    ``repos`` gives the folders class hierarchies are read from (override positives); without it only
    the other kinds are mined.
    """
    bases = _repository_bases(functions, repos or [])
    out = IndependentData()
    for split in sorted({fn.split for fn in functions}):
        rng = random.Random(f"{seed}:independent:{split}")
        chosen = [fn for fn in functions if fn.split == split]
        for fn in chosen:
            summary = first_sentence(fn.docstring)
            if summary is not None:
                out.docstrings.append(SummaryExample(fn.body, summary, fn.repo, split, fn.origin))
        by_file: dict[tuple[str, str], list[Function]] = {}
        for fn in chosen:
            by_file.setdefault((fn.repo, fn.path), []).append(fn)
        candidates = [(INDEPENDENT_KINDS[0], c) for c in same_name_classes(chosen)]
        candidates += [(INDEPENDENT_KINDS[1], c) for c in override_classes(chosen, bases)]
        taken: set[str] = set()  # a function belongs to one class at most
        classes = []
        for kind, members in candidates:
            members = _distinct([fn for fn in members if fn.origin not in taken])
            if len(members) > max_class:
                members = sorted(rng.sample(members, max_class), key=lambda fn: fn.origin)
            if len(members) >= 2:
                taken.update(fn.origin for fn in members)
                classes.append((kind, members))
        # Every candidate (a copy left out of its class, a member over the cap) is a clone of something:
        # none of them may serve as a negative.
        taken.update(fn.origin for _, members in candidates for fn in members)
        free = [fn for fn in chosen if fn.origin not in taken]
        for number, (kind, members) in enumerate(classes):
            group = f"{kind}:{split}:{number}"
            out.clones += [CloneExample(fn.body, group, kind, fn.repo, split, fn.path, fn.qualname) for fn in members]
            head = members[0]
            for position, fn in enumerate(members[1:]):
                out.pairs.append(ClonePair(head.body, fn.body, 1, kind, head.repo, split))
                # Per positive, a hard negative (a same-file function named like this member) and a random
                # one of the split: two negatives per positive, each function used once.
                hard = _hard_negative(fn, taken, by_file)
                random_pick = free[rng.randrange(len(free))] if free else None
                for negative, label in ((hard, "hard-negative"), (random_pick, "random-negative")):
                    if negative is None or negative.origin in taken:
                        continue
                    taken.add(negative.origin)
                    anchor = fn if label == "hard-negative" else head
                    out.pairs.append(ClonePair(anchor.body, negative.body, 0, label, anchor.repo, split))
                    out.distractors.append(CloneExample(negative.body, f"{label}:{split}:{number}:{position}", label,
                                                        negative.repo, split, negative.path, negative.qualname))
    return out


def _repository_bases(functions: list[Function], repos: list[Repository]) -> dict[str, dict[str, tuple[str, ...]]]:
    """Class bases of every file that holds a method, per repository."""
    roots = {repo.name: Path(repo.root) for repo in repos}
    files = sorted({(fn.repo, fn.path) for fn in functions if "." in fn.qualname and fn.repo in roots})
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for repo, path in files:
        try:
            text = (roots[repo] / path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        out.setdefault(repo, {}).update(class_bases(text))
    return out

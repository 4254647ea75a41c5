"""The edit sites of a function, pinned: every kind, in BUG_KINDS order and each kind in source order.

The expected lists were written from the sites the per-kind enumeration gave before it became one walk of
the tree, so a change to the walk that moves, drops or reorders a site fails here. WINDOW holds every kind
but wrong-attribute; METHOD is an indented method (framed to parse) with a non-ASCII string before its
sites (character, not byte, offsets), wrong attributes, and names a lambda and a comprehension bind,
which are not its locals.
"""

from __future__ import annotations

from codelens.parsing.sites import BUG_KINDS, edit_sites, parse_sites

WINDOW = '''\
def window(items, size, strict=False):
    total = 0
    for index in range(len(items) - 1):
        if index >= size and not strict:
            total += items[index + 1] * 2
        elif items[index:index + size] == items[:3] or strict:
            total = max(total, index)
    return total if total else None
'''

METHOD = '''\
def resize(self, width, *rest):
        """Grow to ``width`` (the docstring is part of the text)."""
        label = "größe"
        scaled = [w * 2 for w in rest if w]
        self.width = self.height + width
        self.save(label, scaled)
        self.load()
        return lambda other: other.startswith(label), not self.width
'''

WINDOW_SITES = [
    ('variable-misuse', 80, 85, 'items', ('size', 'strict', 'total'), 3),
    ('variable-misuse', 104, 109, 'index', ('items', 'size', 'strict', 'total'), 4),
    ('variable-misuse', 113, 117, 'size', ('items', 'strict', 'total', 'index'), 4),
    ('variable-misuse', 126, 132, 'strict', ('items', 'size', 'total', 'index'), 4),
    ('variable-misuse', 155, 160, 'items', ('size', 'strict', 'total', 'index'), 5),
    ('variable-misuse', 161, 166, 'index', ('items', 'size', 'strict', 'total'), 5),
    ('variable-misuse', 189, 194, 'items', ('size', 'strict', 'total', 'index'), 6),
    ('variable-misuse', 195, 200, 'index', ('items', 'size', 'strict', 'total'), 6),
    ('variable-misuse', 201, 206, 'index', ('items', 'size', 'strict', 'total'), 6),
    ('variable-misuse', 209, 213, 'size', ('items', 'strict', 'total', 'index'), 6),
    ('variable-misuse', 218, 223, 'items', ('size', 'strict', 'total', 'index'), 6),
    ('variable-misuse', 231, 237, 'strict', ('items', 'size', 'total', 'index'), 6),
    ('variable-misuse', 263, 268, 'total', ('items', 'size', 'strict', 'index'), 7),
    ('variable-misuse', 270, 275, 'index', ('items', 'size', 'strict', 'total'), 7),
    ('variable-misuse', 288, 293, 'total', ('items', 'size', 'strict', 'index'), 8),
    ('variable-misuse', 297, 302, 'total', ('items', 'size', 'strict', 'index'), 8),
    ('swapped-arguments', 263, 275, 'total, index', ('index, total',), 7),
    ('wrong-binary-operator', 87, 88, '-', ('+',), 3),
    ('wrong-binary-operator', 172, 173, '*', ('/', '+'), 5),
    ('wrong-binary-operator', 167, 168, '+', ('-',), 5),
    ('wrong-binary-operator', 207, 208, '+', ('-',), 6),
    ('wrong-comparison', 110, 112, '>=', ('>', '<='), 4),
    ('wrong-comparison', 215, 217, '==', ('!=',), 6),
    ('wrong-boolean-operator', 118, 121, 'and', ('or',), 4),
    ('wrong-boolean-operator', 228, 230, 'or', ('and',), 6),
    ('off-by-one', 51, 52, '0', ('1',), 2),
    ('off-by-one', 89, 90, '1', ('2', '0'), 3),
    ('off-by-one', 169, 170, '1', ('2', '0'), 5),
    ('off-by-one', 174, 175, '2', ('3', '1'), 5),
    ('off-by-one', 225, 226, '3', ('4', '2'), 6),
    ('flipped-boolean', 31, 36, 'False', ('True',), 1),
    ('dropped-negation', 122, 132, 'not strict', ('strict',), 4),
    ('added-negation', 104, 132, 'index >= size and not strict', ('not (index >= size and not strict)',), 4),
    ('added-negation', 189, 237, 'items[index:index + size] == items[:3] or strict',
     ('not (items[index:index + size] == items[:3] or strict)',), 6),
    ('wrong-callee', 259, 262, 'max', ('min',), 7),
    ('off-by-one-slice', 161, 170, 'index + 1', ('index', 'index - 1'), 5),
    ('off-by-one-slice', 195, 200, 'index', ('index + 1', 'index - 1'), 6),
    ('off-by-one-slice', 201, 213, 'index + size', ('(index + size) + 1', '(index + size) - 1'), 6),
    ('missing-argument', 90, 91, ')', (), 3),
    ('missing-argument', 85, 86, ')', (), 3),
    ('missing-argument', 275, 276, ')', (), 7),
]

METHOD_SITES = [
    ('variable-misuse', 204, 209, 'width', ('rest', 'label', 'scaled'), 5),
    ('variable-misuse', 228, 233, 'label', ('rest', 'width', 'scaled'), 6),
    ('variable-misuse', 235, 241, 'scaled', ('rest', 'width', 'label'), 6),
    ('swapped-arguments', 228, 241, 'label, scaled', ('scaled, label',), 6),
    ('wrong-binary-operator', 145, 146, '*', ('/', '+'), 4),
    ('wrong-binary-operator', 202, 203, '+', ('-',), 5),
    ('off-by-one', 147, 148, '2', ('3', '1'), 4),
    ('dropped-negation', 317, 331, 'not self.width', ('self.width',), 8),
    ('wrong-attribute', 182, 187, 'width', ('height',), 5),
    ('wrong-attribute', 195, 201, 'height', ('width',), 5),
    ('wrong-attribute', 223, 227, 'save', ('load',), 6),
    ('wrong-attribute', 256, 260, 'load', ('save',), 7),
    ('wrong-attribute', 326, 331, 'width', ('height',), 8),
    ('wrong-callee', 298, 308, 'startswith', ('endswith',), 8),
    ('missing-argument', 241, 242, ')', (), 6),
    ('missing-argument', 314, 315, ')', (), 8),
]


def _sites(code: str, indent: str = "") -> list[tuple]:
    return [(s.kind, s.start, s.end, s.text, s.alternatives, s.line) for s in edit_sites(code, "python", indent)]


def test_sites_of_every_kind_in_kind_then_source_order():
    assert _sites(WINDOW) == WINDOW_SITES
    assert _sites(METHOD, "    ") == METHOD_SITES
    assert {site[0] for site in WINDOW_SITES + METHOD_SITES} == set(BUG_KINDS)


def test_site_text_is_what_stands_at_its_offsets():
    for code, pinned in ((WINDOW, WINDOW_SITES), (METHOD, METHOD_SITES)):
        for kind, start, end, text, _, line in pinned:
            assert code[start:end] == text and code.count("\n", 0, start) + 1 == line


def test_rewrites_are_the_sites_with_missing_arguments_as_training_makes_them():
    found = parse_sites(WINDOW)
    # An unframed ASCII function: byte offsets of the parsed text are the character offsets of the sites.
    assert [(r.kind, r.start, r.end, r.alternatives) for r in found.rewrites if r.kind != "missing-argument"] == [
        (kind, start, end, alternatives) for kind, start, end, _, alternatives, _ in WINDOW_SITES
        if kind != "missing-argument"]
    # Dropping a call's last argument rewrites from the end of the one before to the closing parenthesis.
    assert [(r.start, r.end, r.alternatives) for r in found.rewrites
            if r.kind == "missing-argument"] == [(268, 276, (")",))]
    assert [(r.start, r.end, r.alternatives) for r in parse_sites(METHOD, "python", "    ").rewrites
            if r.kind == "missing-argument"] == [(248, 257, (")",))]


def test_no_sites_without_a_table_or_a_parse():
    assert edit_sites("function f(a, b) { return a + b; }", "javascript") == []
    assert edit_sites("def broken(:\n    return 1\n") == []

"""Go extraction: functions, methods named Recv.Method (pointer and generic receivers), doc comments."""

from __future__ import annotations

from .helpers import check_spans, extract_fixture, fixture_text, outline

SAMPLE = [
    ("New", 16, 18, True),
    ("Queue.Push", 22, 28, True),
    ("Queue.Len", 30, 30, False),
    ("Box.Map", 33, 36, True),
]


def test_sample_outline_and_spans():
    result = extract_fixture("go", "sample.go")
    # The func literal is anonymous and the assembly-implemented declaration has no body.
    assert outline(result) == SAMPLE
    assert result.error_count == 0
    check_spans(result, fixture_text("go", "sample.go"))


def test_doc_comment_lines_are_joined():
    units = {u.qualname: u for u in extract_fixture("go", "sample.go").units}
    assert units["Queue.Push"].docstring == "Push appends v.\nIt fails when the queue is full."
    assert units["Queue.Push"].source.startswith("func (q *Queue) Push(v int) error {")
    assert units["Queue.Len"].source == "func (q Queue) Len() int { return len(q.items) }"


def test_broken_file_keeps_good_functions_and_counts_errors():
    result = extract_fixture("go", "broken.go")
    assert outline(result) == [("good", 3, 5, False), ("alsoGood", 11, 13, False)]
    assert result.error_count == 1

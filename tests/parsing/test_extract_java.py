"""Java extraction: methods and constructors by class, nested types, anonymous classes, Javadoc."""

from __future__ import annotations

from .helpers import check_spans, extract_fixture, fixture_text, outline

SAMPLE = [
    ("Account.Account", 14, 16, True),
    ("Account.deposit", 23, 29, True),
    ("Account.toString", 31, 34, False),
    ("Account.auditor", 36, 43, False),
    ("Account.auditor.run", 38, 41, False),
    ("Account.Listener.reset", 48, 50, False),
    ("Account.Kind.paysInterest", 57, 59, True),
]


def test_sample_outline_and_spans():
    result = extract_fixture("java", "Sample.java")
    # The bodiless interface method and the lambda are skipped.
    assert outline(result) == SAMPLE
    assert result.error_count == 0
    check_spans(result, fixture_text("java", "Sample.java"))


def test_javadoc_is_cleaned_and_annotations_are_decorators():
    units = {u.qualname: u for u in extract_fixture("java", "Sample.java").units}
    assert units["Account.Account"].docstring == "Creates an empty account."
    assert units["Account.deposit"].docstring == "Deposits money.\n\n@param amount cents to add, must be positive"
    assert units["Account.Kind.paysInterest"].docstring == "Whether interest is paid."
    assert units["Account.toString"].decorator_lines == (31,)
    assert units["Account.auditor.run"].decorator_lines == (38,)
    assert units["Account.deposit"].body == units["Account.deposit"].source


def test_broken_file_keeps_good_functions_and_counts_errors():
    result = extract_fixture("java", "Broken.java")
    assert outline(result) == [("Broken.good", 2, 4, False), ("Broken.alsoGood", 10, 12, False)]
    assert result.error_count == 1

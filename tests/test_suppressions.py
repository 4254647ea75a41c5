"""Suppression comments: where they are recognised, what they hide, and which ones hid nothing."""

from __future__ import annotations

import textwrap

from codelens.core import CodeUnit, Span
from codelens.findings import Finding, Severity
from codelens.parsing import extract_units
from codelens.suppressions import Suppression, apply_suppressions, parse_suppressions

RULE_NAMES = {"CL100": "likely-defect", "CL200": "clone", "CL300": "missing-docstring"}


def _unit(path: str, qualname: str, text: str, start: int, end: int, decorators: tuple[int, ...] = ()) -> CodeUnit:
    source = "\n".join(text.split("\n")[start - 1:end])
    return CodeUnit(
        path=path, language="python", qualname=qualname, span=Span(start, end, 0, len(source)),
        source=source, docstring=None, body=source, hash=f"h-{qualname}", normalized_hash=f"n-{qualname}",
        decorator_lines=decorators,
    )


def _finding(code: str, path: str, qualname: str, start: int, end: int) -> Finding:
    return Finding(
        code=code, rule=RULE_NAMES[code], path=path, start_line=start, end_line=end, qualname=qualname,
        message="m", severity=Severity.MEDIUM, confidence=0.9, unit_hash=f"h-{qualname}",
    )


def _src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def _markers(path: str, text: str, language: str) -> list[Suppression]:
    """The markers of one file, read from the comments its parse found, as a scan reads them."""
    return parse_suppressions(path, text, language, extract_units(path, text, language).comments)


PYTHON = _src('''
    # codelens: ignore-file[CL300]
    import os


    def plain():  # codelens: ignore[CL100]
        return 1


    @decorator  # codelens: ignore[clone, CL100]
    @other
    def decorated():
        return 2


    # codelens: ignore
    def above():
        return 3


    x = 1  # codelens: ignore[CL100]
    def trailing_above():
        s = "# codelens: ignore[CL200]"
        """
        # codelens: ignore[CL100]
        """
        return s


    def stale():  # noqa: E501  # codelens: ignore[CL200]
        return 5
''')


def test_python_markers_are_found_only_in_comments():
    assert _markers("m.py", PYTHON, "python") == [
        Suppression("m.py", 1, frozenset({"CL300"}), True, True),
        Suppression("m.py", 5, frozenset({"CL100"}), False, False),
        Suppression("m.py", 9, frozenset({"clone", "CL100"}), False, False),
        Suppression("m.py", 15, None, False, True),
        Suppression("m.py", 20, frozenset({"CL100"}), False, False),
        Suppression("m.py", 29, frozenset({"CL200"}), False, False),
    ]


def test_python_suppressions_hide_their_functions_and_report_the_unused():
    units = [
        _unit("m.py", "plain", PYTHON, 5, 6),
        _unit("m.py", "decorated", PYTHON, 11, 12, decorators=(9, 10)),
        _unit("m.py", "above", PYTHON, 16, 17),
        _unit("m.py", "trailing_above", PYTHON, 21, 26),
        _unit("m.py", "stale", PYTHON, 29, 30),
    ]
    findings = [
        _finding("CL100", "m.py", "plain", 5, 6),
        _finding("CL200", "m.py", "plain", 5, 6),
        _finding("CL300", "m.py", "plain", 5, 6),
        _finding("CL100", "m.py", "decorated", 11, 12),
        _finding("CL200", "m.py", "decorated", 11, 12),
        _finding("CL200", "m.py", "above", 16, 17),
        _finding("CL100", "m.py", "trailing_above", 21, 26),
        _finding("CL100", "m.py", "stale", 29, 30),
    ]
    sups = {"m.py": _markers("m.py", PYTHON, "python")}
    result = apply_suppressions(findings, units, sups, RULE_NAMES)
    assert result.kept == [findings[1], findings[6], findings[7]]
    assert result.suppressed == [findings[0], findings[2], findings[3], findings[4], findings[5]]
    # the trailing comment after `x = 1` must not leak onto the next function
    assert result.unused == [
        Suppression("m.py", 20, frozenset({"CL100"}), False, False),
        Suppression("m.py", 29, frozenset({"CL200"}), False, False),
    ]
    assert [s.marker for s in result.unused] == ["codelens: ignore[CL100]", "codelens: ignore[CL200]"]


def test_bare_markers_and_odd_lists():
    text = _src('''
        # codelens: ignore-file
        def f():  # codelens: ignore[]
            pass
        def g():  # codelens: ignore[ cl200 ,, Likely-Defect ]
            pass
        def h():  # codelens: ignore-me codelens:ignore
            pass
    ''')
    sups = _markers("b.py", text, "python")
    assert sups == [
        Suppression("b.py", 1, None, True, True),
        Suppression("b.py", 2, frozenset(), False, False),
        Suppression("b.py", 4, frozenset({"cl200", "Likely-Defect"}), False, False),
    ]
    units = [_unit("b.py", "f", text, 2, 3), _unit("b.py", "g", text, 4, 5)]
    findings = [_finding("CL100", "b.py", "g", 4, 5), _finding("CL200", "b.py", "g", 4, 5)]
    # line markers are checked per finding; the file marker covers both as well
    result = apply_suppressions(findings, units, {"b.py": sups}, RULE_NAMES)
    assert result.kept == []
    assert result.suppressed == findings
    assert result.unused == [Suppression("b.py", 2, frozenset(), False, False)]


def test_file_marker_without_findings_is_unused_and_other_files_untouched():
    sups = {"a.py": [Suppression("a.py", 3, frozenset({"CL300"}), True, True)]}
    finding = _finding("CL300", "other.py", "f", 1, 2)
    result = apply_suppressions([finding], [], sups, RULE_NAMES)
    assert result.kept == [finding]
    assert result.unused == sups["a.py"]


JS = _src('''
    // codelens: ignore-file[CL300]
    const tpl = `
    // codelens: ignore[CL100]
    `;
    /* codelens: ignore[CL200] */
    function above() { return 1; }
    export function onDef(a) { /* codelens: ignore */ return a; }
    const s = "// codelens: ignore"; // codelens: ignore[likely-defect]
    /* a block comment that
       // codelens: ignore[CL100]
    spans lines */
    function last() { return '//'; } // codelens: ignore[CL100]
''')


def test_javascript_line_and_block_comments():
    assert _markers("x.js", JS, "javascript") == [
        Suppression("x.js", 1, frozenset({"CL300"}), True, True),
        Suppression("x.js", 5, frozenset({"CL200"}), False, True),
        Suppression("x.js", 7, None, False, False),
        Suppression("x.js", 8, frozenset({"likely-defect"}), False, False),
        Suppression("x.js", 12, frozenset({"CL100"}), False, False),
    ]


def test_typescript_and_java_use_the_same_forms():
    ts = 'class A {\n  @Input() // codelens: ignore[CL200]\n  run(): void {}\n}\n'
    assert _markers("a.ts", ts, "typescript") == [
        Suppression("a.ts", 2, frozenset({"CL200"}), False, False)
    ]
    java = 'String t = """\n  // codelens: ignore\n  """;\n@Test // codelens: ignore[CL100]\n'
    assert _markers("A.java", java, "java") == [
        Suppression("A.java", 4, frozenset({"CL100"}), False, False)
    ]


RUST = _src('''
    // codelens: ignore[CL200]
    #[inline]
    fn pick<'a>(x: &'a str, y: &'a str) -> char { '"' } // codelens: ignore[CL100]
    /// Doc comment.  codelens: ignore (not a marker: it does not follow the comment prefix)
    /// codelens: ignore[CL300]
    fn multi() -> &'static str { "a
    // codelens: ignore
    b" }
''')


def test_rust_lifetimes_char_literals_and_multiline_strings():
    assert _markers("lib.rs", RUST, "rust") == [
        Suppression("lib.rs", 1, frozenset({"CL200"}), False, True),
        Suppression("lib.rs", 3, frozenset({"CL100"}), False, False),
        Suppression("lib.rs", 5, frozenset({"CL300"}), False, True),
    ]


def test_rust_attribute_and_line_above_cover_the_function():
    text = RUST
    units = [
        CodeUnit(
            path="lib.rs", language="rust", qualname="pick", span=Span(3, 3, 0, 1), source=text.split("\n")[2],
            docstring=None, body="", hash="h-pick", normalized_hash="n", decorator_lines=(2,),
        )
    ]
    findings = [_finding("CL100", "lib.rs", "pick", 3, 3), _finding("CL200", "lib.rs", "pick", 3, 3)]
    result = apply_suppressions(findings, units, {"lib.rs": _markers("lib.rs", text, "rust")}, RULE_NAMES)
    assert result.suppressed == findings
    assert result.unused == [Suppression("lib.rs", 5, frozenset({"CL300"}), False, True)]


def test_go_and_c_comments():
    go = 'var s = `\n// codelens: ignore\n`\nfunc (r *R) Run() { } // codelens: ignore[CL100]\n'
    assert _markers("r.go", go, "go") == [Suppression("r.go", 4, frozenset({"CL100"}), False, False)]
    c = "char q = '\"'; /* codelens: ignore[CL200] */ int x;\n"
    assert _markers("q.c", c, "c") == [Suppression("q.c", 1, frozenset({"CL200"}), False, False)]


# One file per language: a marker in each kind of string literal the language has (never a marker), then
# one own-line comment and one trailing comment (markers). The literals include what the old line lexer got
# wrong (C++ raw strings, Rust raw strings with a custom delimiter) and what a lexer easily gets wrong.
STRINGS_THEN_COMMENTS = {
    ("m.py", "python"): _src('''
        a = f"{x} # codelens: ignore"
        b = r'# codelens: ignore'
        c = b"""
        # codelens: ignore
        """
        # codelens: ignore[CL100]
        d = 1  # codelens: ignore[CL200]
    '''),
    ("m.js", "javascript"): _src('''
        const a = `${"}"} // codelens: ignore`;
        const b = '/* codelens: ignore */';
        const c = /\\/\\/ codelens: ignore/;
        // codelens: ignore[CL100]
        const d = 1; /* codelens: ignore[CL200] */
    '''),
    ("m.ts", "typescript"): _src('''
        const a: string = `
        // codelens: ignore`;
        const b = "/* codelens: ignore */";
        /* codelens: ignore[CL100] */
        let d: number = 1; // codelens: ignore[CL200]
    '''),
    ("A.java", "java"): _src('''
        String a = "// codelens: ignore";
        char b = '"'; String c = """
            /* codelens: ignore */
            """;
        // codelens: ignore[CL100]
        int d = 1; /* codelens: ignore[CL200] */
    '''),
    ("m.go", "go"): _src('''
        var a = "// codelens: ignore"
        var b, c = '"', `/* codelens: ignore */`
        /* codelens: ignore[CL100] */
        var d = 1 // codelens: ignore[CL200]
    '''),
    ("m.c", "c"): _src('''
        const char *a = "// codelens: ignore \\" /* codelens: ignore */";
        char b = '"';
        // codelens: ignore[CL100]
        int d = 1; /* codelens: ignore[CL200] */
    '''),
    ("m.cpp", "cpp"): _src('''
        auto a = R"x(
        // codelens: ignore )"
        )x";
        // codelens: ignore[CL100]
        int d = 1; // codelens: ignore[CL200]
    '''),
    ("m.rs", "rust"): _src('''
        let a = r#"one " quote // codelens: ignore"#;
        let b = '"'; let c = b"// codelens: ignore";
        /* codelens: ignore[CL100] */
        let d = 1; // codelens: ignore[CL200]
    '''),
}


def test_markers_in_string_literals_do_not_count_in_any_language():
    for (path, language), text in STRINGS_THEN_COMMENTS.items():
        own, trailing = len(text.split("\n")) - 2, len(text.split("\n")) - 1
        assert _markers(path, text, language) == [
            Suppression(path, own, frozenset({"CL100"}), False, True),
            Suppression(path, trailing, frozenset({"CL200"}), False, False),
        ], language


def test_a_comment_before_a_marker_is_not_code():
    # Only code before a marker on its line makes it trailing; a comment there, even the end of one opened
    # lines above, does not. A block comment with code (or another comment) after it is not alone either.
    text = _src('''
        /* note */ // codelens: ignore[CL100]
        /* a note
           over lines */ // codelens: ignore[CL200]
        int x; /* note */ // codelens: ignore[CL300]
        /* codelens: ignore[clone] */ int y;
        /* codelens: ignore[likely-defect] */ // note
        /* codelens: ignore */ /* codelens: ignore-file */
    ''')
    assert _markers("m.c", text, "c") == [
        Suppression("m.c", 1, frozenset({"CL100"}), False, True),
        Suppression("m.c", 3, frozenset({"CL200"}), False, True),
        Suppression("m.c", 4, frozenset({"CL300"}), False, False),
        Suppression("m.c", 5, frozenset({"clone"}), False, False),
        Suppression("m.c", 6, frozenset({"likely-defect"}), False, False),
        Suppression("m.c", 7, None, False, False),
        Suppression("m.c", 7, None, True, True),
    ]


def test_a_c_line_comment_continued_by_a_backslash_is_read_on_its_first_line():
    text = "// codelens: ignore[CL100] \\\n   still the comment // codelens: ignore[CL200]\nint f(void) { return 1; }\n"
    assert _markers("m.c", text, "c") == [Suppression("m.c", 1, frozenset({"CL100"}), False, True)]


def test_unknown_language_has_no_suppressions():
    assert parse_suppressions("notes.txt", "# codelens: ignore\n", "text", [(0, 18)]) == []


def test_signature_line_below_the_unit_start_counts():
    # C and Java units start at the return type / first annotation; the name sits further down.
    text = "/* codelens: ignore[CL300] */\nstatic int\ncompute(int a)  // codelens: ignore[CL100]\n{\n  return a;\n}\n"
    unit = CodeUnit(
        path="c.c", language="c", qualname="compute", span=Span(2, 6, 0, 1),
        source="\n".join(text.split("\n")[1:6]), docstring=None, body="", hash="h-compute", normalized_hash="n",
    )
    findings = [_finding("CL100", "c.c", "compute", 2, 6), _finding("CL300", "c.c", "compute", 2, 6)]
    result = apply_suppressions(findings, [unit], {"c.c": _markers("c.c", text, "c")}, RULE_NAMES)
    assert result.suppressed == findings
    assert result.unused == []


def test_finding_without_a_unit_uses_its_own_first_line():
    sups = {"a.py": [Suppression("a.py", 4, None, False, True), Suppression("a.py", 9, None, False, False)]}
    finding = _finding("CL100", "a.py", "gone", 5, 7)
    result = apply_suppressions([finding], [], sups, RULE_NAMES)
    assert result.suppressed == [finding]
    assert result.unused == [Suppression("a.py", 9, None, False, False)]

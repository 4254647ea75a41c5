"""Tree-sitter parsing: source files -> CodeUnits, plus the normalised forms behind their hashes.

Importing this package is cheap: grammars load the first time a file of their language is parsed.
"""

from codelens.parsing.extract import ParsedFiles, ParseResult, extract_units, parse_files
from codelens.parsing.normalize import abstracted_source, normalized_source, source_hashes
from codelens.parsing.registry import EXTENSIONS, LANGUAGES, get_spec, language_for_path
from codelens.parsing.spec import LanguageSpec

__all__ = [
    "EXTENSIONS",
    "LANGUAGES",
    "LanguageSpec",
    "ParseResult",
    "ParsedFiles",
    "abstracted_source",
    "extract_units",
    "get_spec",
    "language_for_path",
    "normalized_source",
    "parse_files",
    "source_hashes",
]

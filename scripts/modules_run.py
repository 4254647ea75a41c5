"""Which codelens modules a command runs functions of, as a profiler sees them (issue #20's measure of how
much a newcomer has to follow). Module and class bodies run at import are not counted; functions they call are.

    python scripts/modules_run.py scan examples/shop --format json --no-cache --quiet > /dev/null

Prints the count and, per module, the functions that ran, on stderr (stdout is the command's own output).
"""

from __future__ import annotations

import inspect
import sys
from collections import defaultdict
from pathlib import Path

import codelens
from codelens.cli.main import main

PACKAGE = str(Path(codelens.__file__).resolve().parent)


def modules_run(argv: list[str]) -> dict[str, set[str]]:
    """Module path (relative to the package) -> names of its functions that ran during ``codelens argv``."""
    seen: dict[str, set[str]] = defaultdict(set)

    def profile(frame, event, _arg):
        code = frame.f_code
        # CO_OPTIMIZED: a function's frame, not a module's or a class body's
        if event == "call" and code.co_flags & inspect.CO_OPTIMIZED and code.co_filename.startswith(PACKAGE):
            seen[str(Path(code.co_filename).relative_to(PACKAGE))].add(code.co_name)

    sys.setprofile(profile)
    try:
        main(argv)
    except SystemExit:
        pass
    finally:
        sys.setprofile(None)
    return dict(seen)


if __name__ == "__main__":
    found = modules_run(sys.argv[1:])
    print(f"{len(found)} modules run functions during `codelens {' '.join(sys.argv[1:])}`", file=sys.stderr)
    for module in sorted(found):
        names = sorted(n for n in found[module] if not n.startswith("<"))
        print(f"  {module:40} {len(names):3}  {' '.join(names)[:100]}", file=sys.stderr)

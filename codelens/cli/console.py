"""Rich consoles: messages and progress on stderr, results on stdout."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def error_console():
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)


def progress_bar(enabled: bool):
    """A rich progress bar on stderr, or None when stderr is not a terminal or --quiet was given."""
    console = error_console()
    if not enabled or not console.is_terminal:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )

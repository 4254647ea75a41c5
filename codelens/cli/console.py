"""Rich consoles: messages and progress on stderr, results on stdout."""

from __future__ import annotations

from functools import lru_cache

from codelens.escapes import escape_controls


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


def say(message: str, quiet: bool = False) -> None:
    """A status line on stderr (results go to stdout), printed as it is: file names and messages may hold
    brackets that rich would otherwise read as markup (``x[/]y.py``). Control characters and bidi controls
    (from file names, comments, summaries of the scanned repository) are shown escaped, so a message cannot
    drive the terminal or forge a line (``codelens.escapes``)."""
    if not quiet:
        error_console().print(escape_controls(message), highlight=False, markup=False)


def warn(message: str, quiet: bool = False) -> None:
    """``warning: message`` on stderr, the message printed as it is (control characters escaped)."""
    if not quiet:
        from rich.markup import escape

        error_console().print(f"[yellow]warning:[/] {escape(escape_controls(message))}", highlight=False)


def error(message: str, hint: str | None = None) -> None:
    """``error: message`` and its hint on stderr, both printed as they are (control characters escaped)."""
    from rich.markup import escape

    error_console().print(f"[bold red]error:[/] {escape(escape_controls(message))}", highlight=False)
    if hint:
        error_console().print(f"  [yellow]hint:[/] {escape(escape_controls(hint))}", highlight=False)

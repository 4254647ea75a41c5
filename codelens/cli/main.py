"""`codelens` entry point: the typer app, and one place that maps errors to exit codes.

Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage / config / model errors,
130 interrupted (Ctrl-C), 143 terminated (SIGTERM), 3 an unexpected crash (with a hint to report it).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading

import typer

from codelens import __version__
from codelens.cli import (
    baseline_cmd,
    config_cmd,
    docstring_cmd,
    eval_cmd,
    explain_cmd,
    hook_cmd,
    scan_cmd,
    server_cmd,
    train_cmd,
)
from codelens.cli.console import error, error_console
from codelens.errors import CodelensError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
EXIT_CRASH = 3


class Terminated(KeyboardInterrupt):
    """SIGTERM (CI cancelling a job, `timeout`), raised where the program is so that it unwinds like Ctrl-C:
    the engine's ``finally`` stores what was computed, and the exit code is 128 + 15."""


_signals: dict[str, bool] = {"terminated": False}
"""Set by the SIGTERM handler: typer reports any KeyboardInterrupt as a returned 130, losing which it was."""


def _on_sigterm(signum, frame):
    _signals["terminated"] = True
    raise Terminated()

app = typer.Typer(
    name="codelens",
    help="Static analysis with one small code model: likely defects, clones and missing docstrings.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"codelens {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    """Static analysis with one small code model: likely defects, clones and missing docstrings."""


app.command("scan")(scan_cmd.scan)
app.command("explain")(explain_cmd.explain)
app.command("train")(train_cmd.train)
app.command("eval")(eval_cmd.evaluate)
app.command("docstring")(docstring_cmd.docstring)
app.add_typer(baseline_cmd.app, name="baseline")
app.add_typer(config_cmd.app, name="config")
app.add_typer(hook_cmd.app, name="hook")
app.add_typer(server_cmd.app, name="server")


def _parser_errors(name: str) -> tuple[type, ...]:
    """The exception class ``name`` (ClickException, Abort) of every click the typer app may raise from.

    typer 0.29 carries its own copy of click (``typer._click``), whose exceptions are not the click
    package's; older typers raise the click package's own. Both are caught, so a usage error is exit 2
    whichever is installed (the lock file pins one; this keeps an unpinned install from crashing).
    """
    import importlib

    found = []
    for module in ("typer.exceptions", "typer._click.exceptions", "click.exceptions"):
        try:
            found.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(found)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; library errors become messages and exit code 2, never tracebacks."""
    # bitsandbytes warns on import about optional CPU kernels; it is not the user's concern.
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    previous = _handle_sigterm()
    _signals["terminated"] = False
    try:
        code = app(args=argv, prog_name="codelens", standalone_mode=False)
        if code == EXIT_INTERRUPTED:  # typer's answer to KeyboardInterrupt (Ctrl-C, or SIGTERM through it)
            return _interrupted(Terminated() if _signals["terminated"] else KeyboardInterrupt())
    except typer.Exit as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):  # typer turns Ctrl-C (and our SIGTERM) into Exit(130)
            return _interrupted(exc.__cause__)
        return exc.exit_code
    except CodelensError as exc:
        error(exc.message, exc.hint)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    except Exception as exc:  # usage errors of the command-line parser, and genuine crashes
        if isinstance(exc, _parser_errors("Abort")):
            # click turns Ctrl-C (and our SIGTERM) into Abort, keeping the original as the cause
            return _interrupted(exc.__cause__)
        if isinstance(exc, _parser_errors("ClickException")):
            exc.show(file=sys.stderr)
            return EXIT_USAGE
        import traceback

        traceback.print_exc()
        error_console().print(
            "[bold red]codelens crashed.[/] This is a bug; please report it with the traceback above.",
            highlight=False,
        )
        return EXIT_CRASH
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return code if isinstance(code, int) else 0


def _interrupted(cause: BaseException | None) -> int:
    if isinstance(cause, Terminated):
        error_console().print("terminated")
        return EXIT_TERMINATED
    error_console().print("interrupted")
    return EXIT_INTERRUPTED


def _handle_sigterm():
    """Install the SIGTERM handler (main thread only, as Python requires); the handler it replaces."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _on_sigterm)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""`codelens server start|stop|status`: the background server that keeps the model loaded between scans."""

from __future__ import annotations

import time
from typing import Annotated, Optional

import typer

from codelens.cli.options import Opt

app = typer.Typer(help="The background server that keeps the model loaded between scans (a hook answers in "
                       "about a second).", no_args_is_help=True)

IdleOpt = Annotated[Optional[float], Opt("--idle-minutes", metavar="MINUTES",
                                         help="Exit after this many minutes without a request (default: "
                                              "server-idle-minutes of your config, else 30).", show_default=False)]


def _idle_minutes(given: float | None) -> float:
    from codelens.config import ScanConfig
    from codelens.settings import user_settings

    if given is not None:
        return ScanConfig(server_idle_minutes=given).server_idle_minutes  # validated as a scan's setting
    return ScanConfig(**{k: v for k, v in user_settings().items() if k == "server_idle_minutes"}).server_idle_minutes


@app.command("start")
def start(
    idle_minutes: IdleOpt = None,
    foreground: Annotated[bool, Opt("--foreground", help="Serve in this process until Ctrl-C, logging to stderr "
                                                        "(for a service manager or to watch it).")] = False,
) -> None:
    """Start your background server, unless it runs. A scan in a git hook starts it by itself."""
    from codelens.cli.console import say
    from codelens.errors import CodelensError
    from codelens.server.client import server_status, start_server
    from codelens.server.place import server_place

    minutes = _idle_minutes(idle_minutes)
    place = server_place()
    if foreground:
        import logging

        from codelens.server.daemon import logger, run_server

        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            served = run_server(place, minutes)
        finally:
            logger.removeHandler(handler)
        if not served:
            identity = server_status(place)
            pid = identity.get("pid") if identity else "?"
            raise CodelensError(f"the server of this codelens already runs (pid {pid})",
                                hint="stop it with `codelens server stop` first")
        return
    running = server_status(place)
    identity = start_server(place, minutes)
    if running is not None:
        say(f"the server already runs (pid {identity.get('pid')}); `codelens server status` shows it")
    else:
        say(f"started the server (pid {identity.get('pid')}, exits after {minutes:g} idle minutes): {place.socket}")


@app.command("stop")
def stop(
    all_builds: Annotated[bool, Opt("--all", help="Also stop the servers of other codelens versions or "
                                                  "checkouts of yours.")] = False,
) -> None:
    """Stop your background server (scans then run the model in their own process)."""
    from codelens.cli.console import say
    from codelens.server.client import stop_server
    from codelens.server.place import server_place

    place = server_place()
    places = [place, *_other_places(place)] if all_builds else [place]
    stopped = 0
    for each in places:
        identity = stop_server(each)
        if identity is not None:
            stopped += 1
            say(f"stopped the server (pid {identity.get('pid')}, codelens {identity.get('codelens')})")
    if not stopped:
        say("no server was running")


@app.command("status")
def status() -> None:
    """Whether your background server runs, and what it holds; exit 1 when none runs."""
    from codelens.server.client import compatible, server_status
    from codelens.server.place import server_place

    place = server_place()
    identity = server_status(place)
    others = [each for each in _other_places(place) if server_status(each) is not None]
    if identity is None:
        typer.echo(f"no server runs for this codelens (its socket would be {place.socket})")
    else:
        typer.echo(_describe(identity, place, compatible(identity, place)))
    if others:
        typer.echo(f"{len(others)} server(s) of other codelens versions or checkouts run too "
                   "(`codelens server stop --all` stops them)")
    raise typer.Exit(0 if identity is not None else 1)


def _describe(identity: dict, place, same_build: bool) -> str:
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(identity.get("started", 0)))
    lines = [f"server pid {identity.get('pid')}, codelens {identity.get('codelens')} (build "
             f"{str(identity.get('build'))[:12]}{'' if same_build else ', NOT this codelens'})",
             f"  socket {place.socket}",
             f"  started {started}; {identity.get('served')} request(s); idle {identity.get('idle_s')} s of "
             f"{identity.get('idle_minutes'):g} min{'; busy' if identity.get('busy') else ''}",
             f"  log {identity.get('log')}"]
    models = identity.get("models") or []
    lines.append(f"  models loaded: {len(models)}")
    lines += [f"    {m.get('model')} (adapter {m.get('adapter_hash')}, {m.get('device')}, {m.get('dtype')}, "
              f"quantize {m.get('quantize')})" for m in models]
    return "\n".join(lines)


def _other_places(place) -> list:
    """The places of other builds' servers in the same private folder (their socket files)."""
    from codelens.server.place import ServerPlace

    found = []
    for path in sorted(place.folder.glob("server-*.sock")):
        if path != place.socket:
            found.append(ServerPlace(place.folder, path.name[len("server-"):-len(".sock")]))
    return found

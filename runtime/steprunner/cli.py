"""`python -m steprunner [--root DIR] COMMAND`: dev, steps, events, emit, cron run, db migrate, db import."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

from steprunner import log, table
from steprunner.banner import data_place, start_lines
from steprunner.db.migrate import MigrationError
from steprunner.journal import sqlite as journal
from steprunner.journal.contract import EventJournal, JournalError
from steprunner.loader import StepLoadError, describe, load_project, load_steps
from steprunner.settings import STRICT_VARIABLE, Settings, SettingsError, is_loopback
from steprunner.streams.config import load_streams


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(args.root)


def cmd_dev(args: argparse.Namespace) -> int:
    import uvicorn

    from steprunner.cron import schedule_of
    from steprunner.http.routes import check_route
    from steprunner.http.serve import raise_open_file_limit, uvicorn_options
    from steprunner.runtime import Runtime

    settings = _settings(args)
    settings = replace(
        settings, host=args.host or settings.host, port=args.port if args.port is not None else settings.port
    )
    host, port = settings.host, settings.port
    if not is_loopback(host) and not settings.staff_api_key:
        raise SettingsError(
            f"HOST={host} would serve the runtime's pages and data to the network without a key: "
            "set STAFF_API_KEY (in the environment or .env), or bind to 127.0.0.1"
        )
    problem = _cannot_listen(host, port)
    if problem:
        print(
            f"steprunner: cannot listen on {host}:{port}: {problem} (another server running? set PORT or --port)",
            file=sys.stderr,
        )
        return 1
    if settings.database_url:
        _migrate(settings)  # before any worker starts; an unreachable database stops us here
    else:
        journal.connect(
            settings.journal_path, settings.journal_sync
        ).close()  # a DATA_DIR that cannot work stops us here
    steps = load_steps(
        settings.root, strict=settings.strict
    )  # fail fast, with the file named, before any worker starts
    streams = load_streams(settings.root)  # the `*_stream.py` configs too
    for step in steps:
        check_route(step)
        if step.type == "cron":
            schedule_of(step)
    raise_open_file_limit()
    options = uvicorn_options(settings)
    print("\n".join(start_lines(settings, steps, len(streams), _folders(settings.root), host, port)), flush=True)
    if args.workers > 1:
        os.environ.update(
            STEPRUNNER_ROOT=str(settings.root), HOST=host, PORT=str(port)
        )  # what each worker's create_app reads
        uvicorn.run(
            "steprunner.runtime:create_app", factory=True, workers=args.workers, host=host, port=port, **options
        )
    else:
        uvicorn.run(Runtime(settings, steps).app(), host=host, port=port, **options)
    return 0


def _folders(root: Path) -> str:
    """`/steps`, `/src` or `/{steps,src}`: where the steps came from, for the start line."""
    present = [name for name in ("steps", "src") if (root / name).is_dir()]
    return "/" + present[0] if len(present) == 1 else "/{" + ",".join(present) + "}"


def _cannot_listen(host: str, port: int) -> str | None:
    """Why the port can't be bound, found before start-up rather than after the steps load."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(infos[0][4])
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _migrate(settings: Settings) -> None:
    from steprunner.db.migrate import migrate
    from steprunner.db.pool import describe

    assert settings.database_url
    applied = migrate(settings.database_url, settings.root)
    done = f"applied {', '.join(m.label for m in applied)}" if applied else "schema up to date"
    print(f"steprunner: database {describe(settings.database_url)}: {done}", flush=True)


def cmd_db(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if not settings.database_url:
        print(
            "db migrate: DATABASE_URL is not set (in the environment or .env): without it the data lives in "
            "DATA_DIR and there is nothing to migrate",
            file=sys.stderr,
        )
        return 2
    _migrate(settings)
    return 0


def cmd_db_import(args: argparse.Namespace) -> int:
    from steprunner.db.pool import describe
    from steprunner.move import MoveError, import_data_dir, moved_summary

    settings = _settings(args)
    if not settings.database_url:
        print(
            "db import: DATABASE_URL is not set (in the environment or .env): set it to the database to move into",
            file=sys.stderr,
        )
        return 2
    data_dir = args.data_dir.resolve() if args.data_dir is not None else settings.data_dir
    if not data_dir.is_dir():
        print(f"db import: {data_dir} is not a folder: give the DATA_DIR to move from", file=sys.stderr)
        return 2
    try:
        moved = import_data_dir(data_dir, settings.database_url, root=settings.root, replace=args.replace)
    except (MoveError, JournalError) as exc:
        print(f"db import: {exc}", file=sys.stderr)
        return 1
    print(f"imported {moved_summary(moved)} from {data_dir} into {describe(settings.database_url)}")
    return 0


def cmd_steps(args: argparse.Namespace) -> int:
    root = args.root.resolve()
    project = load_project(root)
    rows = [("TYPE", "NAME", "TRIGGER", "EMITS", "FLOWS", "FILE")]
    for s in sorted(project.steps, key=lambda step: step.name.lower()):  # by name: what a reader looks for
        rows.append((s.type, s.name, describe(s), ", ".join(sorted(s.emits)) or "-", ", ".join(s.flows) or "-", s.file))
    for d in load_streams(root):  # the `*_stream.py` configs: what `context.streams` will hold
        rows.append(("stream", d.name, "-", "-", "-", d.file))
    print("\n".join(table.render(rows)))
    if project.skipped:  # each file Motia would load (or warn about) that steprunner does not run, and why
        count = len(project.skipped)
        print(f"\nskipped: {count} file{'s' * (count != 1)} steprunner does not run")
        print("\n".join(table.render([("FILE", "WHY"), *((s.file, s.why) for s in project.skipped)])))
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    from steprunner.runtime import open_journal

    settings = _settings(args)
    if args.action == "replay" and args.id is None and not args.all:
        print("events replay: give a delivery id, or --all", file=sys.stderr)
        return 2
    journal = open_journal(settings)
    try:
        return asyncio.run(_events(args, settings, journal))
    finally:
        journal.close()


async def _events(args: argparse.Namespace, settings: Settings, journal: EventJournal) -> int:
    if args.action == "replay":
        n = await journal.replay(None if args.all else args.id)
        when = "at once" if settings.database_url else f"within {settings.poll_seconds:g}s"
        print(f"replayed {n} dead-lettered deliver{'y' if n == 1 else 'ies'}; a running server picks them up {when}")
        return 0 if n else 1
    rows = await journal.stats()
    print(f"journal: {journal.where}")
    if not rows:
        print("no pending, running or dead-lettered events")
    else:
        header = ("TOPIC", "STEP", "PENDING", "RUNNING", "DEAD")
        counts = [(r["topic"], r["step"], str(r["pending"]), str(r["claimed"]), str(r["dead"])) for r in rows]
        print("\n".join(table.render([header, *counts], right=frozenset({2, 3, 4}))))
    dead = await journal.dead_letters()
    if dead:
        width = table.terminal_width()
        print("\ndead-lettered (replay with `steprunner events replay ID`):")
        for r in dead:
            head = f"  #{r['id']} {r['topic']} -> {r['step']} tries={r['attempts']} trace={r['trace_id'][:8]} "
            print(table.elide(head + f"data={r['data']}", width))
            print(table.elide(f"      last error: {r['last_error']}", width))
    return 0


async def _one_shot(settings: Settings, action: Callable[[Any], Awaitable[int]]) -> int:
    from steprunner.runtime import Runtime

    # a one-shot command works on whatever data its settings name: say which, so a stray DATA_DIR shows
    print(f"data: {data_place(settings)}", file=sys.stderr)
    runtime = Runtime(settings)
    await runtime.streams.start()  # a handler here may use context.streams (a fresh DATA_DIR has no tables yet)
    runtime.bus.start(sweep=False)
    try:
        code = await action(runtime)
        if not await runtime.bus.drain(timeout=120):
            print("some handlers were still running; their events stay pending for the server", file=sys.stderr)
        return code
    finally:
        await runtime.stop()


def cmd_cron(args: argparse.Namespace) -> int:
    from steprunner.cron import run_cron_step

    async def action(runtime: Any) -> int:  # a Runtime
        step = runtime.step(args.name)
        if step is None or step.type != "cron":
            names = [s.name for s in runtime.steps if s.type == "cron"]
            print(f"no cron step named {args.name!r}; cron steps: {', '.join(names) or 'none'}", file=sys.stderr)
            return 2
        return 0 if await run_cron_step(step, runtime.bus) else 1

    return asyncio.run(_one_shot(_settings(args), action))


def cmd_emit(args: argparse.Namespace) -> int:
    data = json.loads(args.data) if args.data else {}

    async def action(runtime: Any) -> int:  # a Runtime
        trace_id = uuid.uuid4().hex
        if not runtime.bus.subscribers.get(args.topic):
            print(f"warning: no step subscribes to {args.topic!r}; nothing will handle it", file=sys.stderr)
        for seq in range(args.count):
            payload = {**data, "seq": seq} if args.count > 1 and isinstance(data, dict) else data
            await runtime.bus.publish(args.topic, payload, trace_id, source="cli")
        print(f"emitted {args.count} x {args.topic} (trace {trace_id})")
        return 0

    settings = _settings(args)
    if args.no_run:  # journal only: whatever server is running delivers them

        async def journal_only() -> int:
            from steprunner.runtime import Runtime

            runtime = Runtime(settings)
            try:
                return await action(runtime)
            finally:
                await runtime.stop()

        return asyncio.run(journal_only())
    return asyncio.run(_one_shot(settings, action))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="steprunner",
        description="Run Motia step files (steps/ and src/ *_step.py) in one Python process.",
    )
    p.add_argument(
        "--root", type=Path, default=Path("."), help="project root holding steps/ or src/ (default: current folder)"
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help=(
            "refuse what Motia only warns about: invalid step configs, *.step.py files, undeclared emits "
            "(also STEPRUNNER_STRICT=1)"
        ),
    )
    sub = p.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="serve the API steps and run event and cron steps")
    dev.add_argument("--host", default=None, help="default: $HOST or 127.0.0.1")
    dev.add_argument("--port", type=int, default=None, help="default: $PORT or 3000")
    dev.add_argument("--workers", type=int, default=1, help="processes sharing the port and DATA_DIR (default 1)")
    dev.set_defaults(func=cmd_dev)

    sub.add_parser("steps", help="list every step: type, name, trigger, emits, flows").set_defaults(func=cmd_steps)

    events = sub.add_parser("events", help="pending and dead-lettered events per topic; replay dead ones")
    events.add_argument(
        "action", nargs="?", choices=["list", "replay"], default="list", help="list (the default) or replay"
    )
    events.add_argument("id", nargs="?", type=int, default=None, help="delivery id to replay")
    events.add_argument("--all", action="store_true", help="replay every dead-lettered delivery")
    events.set_defaults(func=cmd_events)

    emit = sub.add_parser("emit", help="emit an event to its subscribers, as a step would")
    emit.add_argument("topic")
    emit.add_argument("data", nargs="?", default=None, help="JSON payload (default {})")
    emit.add_argument("--count", type=int, default=1, help="emit N events; a dict payload gets a `seq` field 0..N-1")
    emit.add_argument("--no-run", action="store_true", help="only journal it; a running server delivers it")
    emit.set_defaults(func=cmd_emit)

    db_command = sub.add_parser("db", help="the PostgreSQL database of DATABASE_URL")
    db_sub = db_command.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser(
        "migrate", help="create or update its tables (a server does it as it starts; safe from several nodes at once)"
    ).set_defaults(func=cmd_db)
    db_import = db_sub.add_parser(
        "import",
        help="copy a DATA_DIR's events still to run, dead letters, state and stream items into it, in one transaction "
        "(stop the servers first; the DATA_DIR is only read)",
    )
    db_import.add_argument(
        "data_dir", nargs="?", type=Path, default=None, help="the folder to move from (default: $DATA_DIR)"
    )
    db_import.add_argument(
        "--replace",
        action="store_true",
        help="empty the database's events, state and stream items first (else a non-empty one is refused)",
    )
    db_import.set_defaults(func=cmd_db_import)

    cron = sub.add_parser("cron", help="cron steps")
    cron_sub = cron.add_subparsers(dest="cron_command", required=True)
    run = cron_sub.add_parser("run", help="run a cron step once now, against the same data")
    run.add_argument("name")
    run.set_defaults(func=cmd_cron)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.root = args.root.resolve()
    if args.strict:
        os.environ[STRICT_VARIABLE] = "1"  # read by Settings.from_env and load_steps, in every worker too
    os.chdir(args.root)  # DATA_DIR and the steps' relative paths resolve from the project root, as under Motia
    load_dotenv(args.root / ".env", override=False)
    log.reconfigure()
    try:
        return args.func(args)
    except (StepLoadError, SettingsError, JournalError, MigrationError) as exc:
        print(f"steprunner: cannot start: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `steprunner steps | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error as Python flushes at exit
        return 0

"""The lines `python -m steprunner dev` prints before it serves: what it loaded, where to go, where the data is.

A newcomer reads them first, so they name the URLs to open (the project's API, the flow view, the API docs)
and the one place the data lives: DATA_DIR's folder, or the database of DATABASE_URL (never its password).
Everything comes from the settings and the step configs: the runtime knows no project's paths.
"""

from __future__ import annotations

from pathlib import Path

from steprunner.http.routes import INTERNAL_PREFIX
from steprunner.loader import Step
from steprunner.settings import DATABASE_VARIABLE, Settings
from steprunner.step_config import ApiConfig


def base_url(host: str, port: int) -> str:
    """`http://host:port`, an IPv6 address in brackets."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


def api_base(steps: list[Step]) -> str | None:
    """The path every API step's route starts with (`/py/pets` for `/py/pets` and `/py/pets/:id`), up to the
    first path parameter; `/` when they share nothing; None without API steps."""
    paths = [step.config.path for step in steps if isinstance(step.config, ApiConfig)]
    if not paths:
        return None
    split = [[part for part in path.split("/") if part] for path in paths]
    common: list[str] = []
    for parts in zip(*split, strict=False):
        if len(set(parts)) != 1 or parts[0].startswith(":"):
            break
        common.append(parts[0])
    return "/" + "/".join(common)


def _page_path(steps: list[Step], path: str) -> str:
    """Where the runtime serves one of its pages: at `path`, or under INTERNAL_PREFIX when a step's GET
    route takes that path (the step wins there)."""
    taken = any(
        isinstance(step.config, ApiConfig) and step.config.method == "GET" and step.config.path == path
        for step in steps
    )
    return INTERNAL_PREFIX + path if taken else path


def data_place(settings: Settings) -> str:
    """Where the data lives: the database (password left out) or DATA_DIR's folder."""
    if settings.database_url:
        from steprunner.db.pool import describe  # psycopg only in database mode

        return f"PostgreSQL {describe(settings.database_url)} ({DATABASE_VARIABLE}; nothing is kept in DATA_DIR)"
    return f"{settings.data_dir} (DATA_DIR)"


def start_lines(settings: Settings, steps: list[Step], streams: int, folders: str, host: str, port: int) -> list[str]:
    """The banner: one line of what was loaded, then one line per place to go and where the data lives."""
    also = f" and {streams} stream{'s' * (streams != 1)}" if streams else ""
    url = base_url(host, port)
    api = api_base(steps)
    routes = sum(isinstance(step.config, ApiConfig) for step in steps)
    lines = [f"steprunner: {len(steps)} steps{also} from {Path(settings.root)}{folders}"]
    if api is not None:
        lines.append(f"  API        {url}{api}  ({routes} route{'s' * (routes != 1)})")
    lines.append(f"  flow view  {url}{_page_path(steps, '/')}")
    lines.append(f"  API docs   {url}{_page_path(steps, '/docs')}  (OpenAPI: {_page_path(steps, '/openapi.json')})")
    lines.append(f"  data       {data_place(settings)}")
    return lines

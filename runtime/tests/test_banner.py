"""The lines `python -m steprunner dev` prints first: the API's base URL, the flow view, the API docs, and
where the data lives (DATA_DIR's folder, or the database without its password), read from a real process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from steprunner.banner import api_base
from steprunner.loader import Step
from steprunner.step_config import parse_config
from steprunner.testing.databases import bind
from steprunner.testing.server import Server

STEP = """\
config = {{"type": "api", "name": "{name}", "path": "{path}", "method": "GET", "emits": []}}


async def handler(req, context):
    return {{"status": 200, "body": {{}}}}
"""


def shop(root: Path, routes: dict[str, str]) -> Path:
    """A project of GET API steps, one per `name: path`."""
    (root / "steps").mkdir(parents=True)
    for name, path in routes.items():
        (root / "steps" / f"{name.lower()}_step.py").write_text(STEP.format(name=name, path=path))
    return root


SHOP = {"ListItems": "/shop/items", "GetItem": "/shop/items/:id", "ItemPhotos": "/shop/items/:id/photos"}


def banner(server: Server) -> list[str]:
    """The lines printed before the first log line (the runtime's `ready`)."""
    lines = server.logs().splitlines()
    return lines[: next(i for i, line in enumerate(lines) if " ready " in line)]


def test_the_banner_names_the_api_the_flow_view_the_docs_and_the_data_dir(
    tmp_path: Path, server_factory: Callable[..., Server]
) -> None:
    server = server_factory(root=shop(tmp_path / "project", SHOP), data_dir=tmp_path / "data")
    lines = banner(server)
    text = "\n".join(lines)
    assert lines[0].startswith("steprunner: 3 steps from "), text
    assert f"  API        {server.base_url}/shop/items  (3 routes)" in lines, text
    assert f"  flow view  {server.base_url}/" in lines, text
    assert f"  API docs   {server.base_url}/docs  (OpenAPI: /openapi.json)" in lines, text
    assert f"  data       {(tmp_path / 'data').resolve()} (DATA_DIR)" in lines, text
    assert "data in" not in text


def test_in_database_mode_the_banner_names_the_database_without_its_password(
    tmp_path: Path, server_factory: Callable[..., Server], empty_database_url: str
) -> None:
    data_dir = tmp_path / "data"
    bind(data_dir, empty_database_url)
    server = server_factory(root=shop(tmp_path / "project", SHOP), data_dir=data_dir)
    text = "\n".join(banner(server))
    password = empty_database_url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    user_host_db = empty_database_url.replace(f":{password}@", "@")
    assert f"  data       PostgreSQL {user_host_db} (DATABASE_URL; nothing is kept in DATA_DIR)" in text, text
    assert password not in server.logs()
    assert str(data_dir) not in text, "the folder holds no data in database mode"


def test_a_step_on_the_root_path_moves_the_flow_view_under_the_runtimes_prefix(
    tmp_path: Path, server_factory: Callable[..., Server]
) -> None:
    server = server_factory(root=shop(tmp_path / "project", {"Home": "/", "Docs": "/docs"}))
    lines = banner(server)
    assert f"  API        {server.base_url}/  (2 routes)" in lines, lines
    assert f"  flow view  {server.base_url}/__steprunner/" in lines, lines
    assert f"  API docs   {server.base_url}/__steprunner/docs  (OpenAPI: /openapi.json)" in lines, lines


def api(path: str) -> Step:
    config = parse_config({"type": "api", "name": "S", "path": path, "method": "GET", "emits": []}, "s_step.py")
    return Step(file="s_step.py", config=config, handler=None)


def test_the_api_base_is_the_path_every_route_shares_up_to_a_parameter() -> None:
    assert api_base([api("/py/pets"), api("/py/pets/:id"), api("/py/pets/:id/restore")]) == "/py/pets"
    assert api_base([api("/a/:id/b"), api("/a/:id/c")]) == "/a"
    assert api_base([api("/a"), api("/b")]) == "/"
    assert api_base([api("/only/one")]) == "/only/one"
    assert api_base([]) is None

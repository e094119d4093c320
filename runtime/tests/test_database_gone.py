"""A node whose database went away before it stops (the database stopped first, say) still stops
cleanly: one warning that its claims will be taken over, no traceback, exit code 0."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from steprunner.db.migrate import migrate
from steprunner.testing.postgres import Cluster, PostgresUnavailable
from tests.support import FIXTURE_ROOT


def test_a_node_stops_cleanly_after_its_database(server_factory: Any, tmp_path: Path) -> None:
    try:
        cluster = Cluster()  # its own: this test stops it
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    try:
        url = cluster.create_database()
        migrate(url, FIXTURE_ROOT)
        node = server_factory(tmp_path / "node", root=FIXTURE_ROOT, env={"DATABASE_URL": url})
        with node.client() as http:
            assert http.get("/__steprunner/health").status_code == 200
    finally:
        cluster.stop()
    assert node.stop() == 0, node.logs()[-3000:]
    logs = node.logs()
    assert "Traceback" not in logs and "shutdown failed" not in logs, logs[-3000:]
    assert "they are taken over once their lease ends" in logs

"""A PostgreSQL outage while the node serves: every request that needs the database is answered 503 with
`Retry-After` (try again), never 500; once the database is back, writes work again and nothing answered
200 before or during the outage is missing."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from steprunner.db.migrate import migrate
from steprunner.testing.postgres import Cluster, PostgresUnavailable
from steprunner.testing.waiting import wait_until
from tests.support import FIXTURE_ROOT

DURING = 8  # writes sent while the database is down


def test_an_outage_answers_503_with_retry_after_and_loses_nothing(server_factory: Any, tmp_path: Path) -> None:
    try:
        cluster = Cluster()  # its own: this test stops and starts it
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    try:
        url = cluster.create_database()
        migrate(url, FIXTURE_ROOT)
        node = server_factory(
            tmp_path / "node",
            root=FIXTURE_ROOT,
            env={"DATABASE_URL": url, "STEPRUNNER_DATABASE_POOL_TIMEOUT_SECONDS": "2"},
        )
        written: set[int] = set()  # the `n` of every write answered 200
        with node.client(timeout=30) as http:
            for n in range(3):
                assert http.put(f"/state/outage/k{n}", json={"n": n}).status_code == 200
                written.add(n)

            cluster.halt("fast")  # every connection of the node's pool is cut
            answers = {n: http.put(f"/state/outage/k{n}", json={"n": n}) for n in range(3, 3 + DURING)}
            statuses = Counter(a.status_code for a in answers.values())
            assert set(statuses) == {503}, (statuses, node.logs()[-3000:])
            for answer in answers.values():
                assert answer.headers.get("retry-after") == "1", answer.headers
                assert answer.json()["message"].startswith("The service is busy"), answer.json()

            cluster.resume()
            wait_until(
                lambda: http.put("/state/outage/k100", json={"n": 100}).status_code == 200,
                timeout=60,
                message="writes to work again once the database is back",
            )
            written.add(100)
            check = http.put("/state/outage/check", json={"n": -1})
            assert check.status_code == 200, check.text
        kept = {item["n"] for item in check.json()["group"]}
        assert written <= kept, (written, kept)
        logs = node.logs()
        assert "Traceback" not in logs and "handler failed" not in logs, logs[-3000:]
    finally:
        cluster.stop()

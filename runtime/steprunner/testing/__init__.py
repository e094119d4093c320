"""Launchers for tests and benchmarks of a Motia project run on steprunner (`pip install steprunner[testing]`).

Real processes, no mocks: `start_server` runs `python -m steprunner dev` on a project root, `run_cli` runs
one command, `wait_until` is the one way to wait on them, and `postgres.Cluster` is a throwaway PostgreSQL.
`markdown` and `paste` run a docs page's shell blocks as a reader pastes them and check what they print.
The project root is always the caller's: nothing here knows which project it runs.
"""

from steprunner.testing.databases import bind, bound_url
from steprunner.testing.server import PYTHON, Server, base_env, free_port, run_cli, start_server
from steprunner.testing.waiting import wait_until

__all__ = ["PYTHON", "Server", "base_env", "bind", "bound_url", "free_port", "run_cli", "start_server", "wait_until"]

"""Several nodes on one PostgreSQL: 1, 2 and 3 steprunner nodes next to the embedded default.

    python bench/nodes.py [--seconds 10] [--pets 40] [--nodes 1,2,3] [--out bench/results/nodes.md]

Per line the chain, create throughput under wrk and the settle time, on a throwaway cluster with
PostgreSQL's durable defaults: bench/README.md, section 5 ("Several nodes on one PostgreSQL").
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import machine, servers  # noqa: E402
from bench.chain import done_via_http, measure_chain  # noqa: E402
from bench.load import Client, LoadResult, post_script, run_wrk, wrk_available  # noqa: E402
from bench.stats import summary  # noqa: E402
from bench.writes import SETTLE_DEADLINE_S, SETTLE_POLL_S, count_pets  # noqa: E402
from steprunner.testing.postgres import Cluster, PostgresUnavailable  # noqa: E402
from steprunner.testing.server import Server, start_server  # noqa: E402

CLIENTS = 30  # in all, split evenly over 1, 2 or 3 nodes
CHAIN_DEADLINE_S = 60.0


@contextlib.contextmanager
def node_set(count: int, url: str | None) -> Iterator[list[Server]]:
    """`count` fresh nodes (own DATA_DIR each), with DATABASE_URL=url if given; stopped on exit."""
    base = Path(tempfile.mkdtemp(prefix="bench-nodes-"))
    env = {"DATABASE_URL": url} if url else {}
    started = [
        start_server(base / f"node-{n}", root=REPO, env={**servers.STEPRUNNER_ENV, **env}, wait=False)
        for n in range(count)
    ]
    try:
        for node in started:
            node.wait_ready(timeout=120)
        yield started
    finally:
        for node in started:
            node.stop()
        shutil.rmtree(base, ignore_errors=True)


def chain(nodes: list[Server], pets: int) -> list[float]:
    """Chain latencies (ms): pet k created on node k mod N and read on the next node until settled."""
    clients = [Client(node.base_url) for node in nodes]
    samples = []
    for k in range(pets):
        samples += measure_chain(
            clients[k % len(clients)], done_via_http(clients[(k + 1) % len(clients)]), 1, CHAIN_DEADLINE_S
        )
    for c in clients:
        c.close()
    return samples


def creates(nodes: list[Server], seconds: float) -> dict[str, Any]:
    """wrk on every node at once, CLIENTS connections in all; the rates added up."""
    per_node = CLIENTS // len(nodes)
    results: list[LoadResult | BaseException] = [RuntimeError("not run")] * len(nodes)

    def load(i: int) -> None:
        try:
            results[i] = run_wrk(nodes[i].base_url, post_script(), per_node, seconds)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the main thread
            results[i] = exc

    threads = [threading.Thread(target=load, args=(i,), daemon=True) for i in range(len(nodes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done = [r for r in results if isinstance(r, LoadResult)]
    if len(done) != len(results):
        raise next(r for r in results if isinstance(r, BaseException))
    return {
        "connections": per_node * len(nodes),
        "rps": sum(r.rps for r in done),
        "p50_ms": statistics.median(r.p50_ms for r in done),  # the median of the nodes' p50s
        "p99_ms": max(r.p99_ms for r in done),  # the worst node's
        "non_2xx": sum(r.non_2xx for r in done),
        "socket_errors": sum(r.socket_errors for r in done),
        "per_node": [r.as_dict() for r in done],
    }


def settle(nodes: list[Server]) -> tuple[int, int, float | None]:
    """(pets, settled, seconds until every pet settled or None), read through the first node."""
    client = Client(nodes[0].base_url)
    started = time.monotonic()
    while True:
        pets, settled = count_pets(client)
        if pets == settled or time.monotonic() - started > SETTLE_DEADLINE_S:
            break
        time.sleep(SETTLE_POLL_S)
    client.close()
    return pets, settled, (time.monotonic() - started if pets == settled else None)


def measure(label: str, count: int, url: str | None, seconds: float, pets: int, log: Any) -> dict[str, Any]:
    meter = machine.OtherWork()
    busy_before = machine.cpu_busy()
    with node_set(count, url) as nodes:
        log(f"{label}: chain, {pets} pets")
        latencies = chain(nodes, pets)
        log(f"{label}: creates, {seconds:g} s at {CLIENTS} connections over {count} node(s)")
        post = creates(nodes, seconds)
        total, settled, settle_s = settle(nodes)
    result = {
        "label": label,
        "nodes": count,
        "database": url is not None,
        "chain": summary(latencies),
        "post": post,
        "pets": total,
        "pets_settled": settled,
        "settle_s": settle_s,
        "other_work": meter.share(),
        "cpu_busy_before": busy_before,
    }
    log("    " + line(result))
    return result


def _ms(v: float | None) -> str:
    return "–" if v is None or v != v else (f"{v:.2f}" if v < 10 else f"{v:,.1f}")


def line(r: dict[str, Any]) -> str:
    c, p = r["chain"], r["post"]
    settle_text = f"{r['settle_s']:.1f} s" if r["settle_s"] is not None else f"not within {SETTLE_DEADLINE_S:g} s"
    return (
        f"chain p50 {_ms(c['p50_ms'])} p99 {_ms(c['p99_ms'])} ms; "
        f"POST {p['rps']:,.1f}/s p50 {_ms(p['p50_ms'])} p99 {_ms(p['p99_ms'])} ms, "
        f"non-2xx {p['non_2xx']}; {r['pets']} pets settled {settle_text} after; other work {r['other_work']:.0%}"
    )


def run(seconds: float, pets: int, counts: list[int], log: Any = print) -> dict[str, Any]:
    lines = [measure("embedded (DATA_DIR)", 1, None, seconds, pets, log)]
    cluster = Cluster(durable=True)
    try:
        for count in counts:
            lines.append(measure(f"postgres x{count}", count, cluster.create_database(), seconds, pets, log))
    finally:
        cluster.stop()
    return {"seconds": seconds, "pets": pets, "clients": CLIENTS, "postgres": str(cluster.bin), "lines": lines}


def markdown(result: dict[str, Any], info: dict[str, Any], command: str) -> str:
    out = [
        f"Measured {info['date']} on {info['cores']} cores ({info['cpu']}, {info['memory_gb']} GB), "
        f"Python {info['python']}, "
        f"{info['wrk'] or 'wrk ?'}, PostgreSQL from `{result['postgres']}` (fsync on); commit {info['commit']}.",
        "",
        f"Command: `{command}`",
        "",
        f"Chain: {result['pets']} pets one at a time, POST -> `in_quarantine` with its fallback profile (on several "
        f"nodes the POSTs go round the nodes and each pet is read on the next one). Creates: wrk for "
        f"{result['seconds']:g} s at {result['clients']} connections in all, split over the nodes, every create "
        "setting off its chain; p50 is the median of the nodes' p50s, p99 the worst node's. Settled: every pet "
        "`in_quarantine` with a profile, from the end of the load. Every process shares the same cores: nodes, "
        "PostgreSQL, wrk.",
        "",
        "| setup | chain p50 / p99 ms | POST requests/s | POST p50 / p99 ms | non-2xx | pets "
        "| settled after load s | other work |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["lines"]:
        c, p = r["chain"], r["post"]
        settle_text = f"{r['settle_s']:.1f}" if r["settle_s"] is not None else f"not in {SETTLE_DEADLINE_S:g}"
        out.append(
            f"| {r['label']} | {_ms(c['p50_ms'])} / {_ms(c['p99_ms'])} | {p['rps']:,.1f} "
            f"| {_ms(p['p50_ms'])} / {_ms(p['p99_ms'])} | "
            f"{p['non_2xx']} | {r['pets']:,} | {settle_text} | {r['other_work']:.0%} |"
        )
    out += [
        "",
        '"Other work": CPU used by processes that are not this run\'s children, as a share of all cores; '
        "on the postgres lines that is mostly PostgreSQL itself.",
    ]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the POST load (default 10)")
    parser.add_argument("--pets", type=int, default=40, help="pets for the chain latency (default 40)")
    parser.add_argument("--nodes", default="1,2,3", help="node counts on PostgreSQL (default 1,2,3)")
    parser.add_argument("--out", type=Path, help="also write the Markdown here, and the numbers next to it (.json)")
    args = parser.parse_args(argv)
    if not wrk_available():
        print("bench: wrk is not installed (Debian package `wrk`; `make wrk` installs it)", file=sys.stderr)
        return 2
    info = machine.describe()
    print(
        f"machine: {info['cores']} cores, {info['cpu_busy_before']:.0%} busy, "
        f"load average {info['load_average_before']:.2f}",
        flush=True,
    )
    try:
        result = run(
            args.seconds, args.pets, [int(n) for n in args.nodes.split(",")], log=lambda m: print(m, flush=True)
        )
    except PostgresUnavailable as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    command = shlex.join(["python", "bench/nodes.py", *(argv if argv is not None else sys.argv[1:])])
    text = markdown(result, info, command)
    print()
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(f"# Several nodes on one PostgreSQL\n\n{text}")
        args.out.with_suffix(".json").write_text(
            json.dumps({"machine": info, "command": command, "nodes": result}, indent=1, default=str) + "\n"
        )
        print(f"wrote {args.out} and {args.out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

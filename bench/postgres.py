"""Inbound throughput on PostgreSQL: one `o2r serve` instance, then two on the same database
(the load split between them, as a balancer would), and their ratio (goal: two >= 1.6x one).

Needs a PostgreSQL server (BENCH_PG, default postgresql://127.0.0.1:5432/test); a database
o2r_bench_<random> is created there and dropped at the end. Skipped with a line without one.
Run: .venv/bin/python -m bench.postgres [--clients 600] [--requests 1800] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import tempfile
from contextlib import ExitStack
from pathlib import Path

import psycopg

from bench.common import (
    LoadResult,
    encode_post,
    fake_providers,
    free_port,
    median,
    post_all,
    server,
    server_env,
    signed_sms,
)
from bench.escalation import main as escalation_main
from bench.inbound import OFFICER_CHAT, PATH, report
from bench.seed import seed
from config.settings import load_settings

SERVER = os.environ.get("BENCH_PG", "postgresql://127.0.0.1:5432/test")


def fresh_schema(base: str) -> tuple[str, str]:
    """(schema, URL whose connections use it) in the bench database."""
    schema = f"b{secrets.token_hex(4)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return schema, f"{base}?options=-csearch_path%3D{schema}"


async def one_round(base: str, instances: int, clients: int, requests: int,
                    concurrency: int) -> LoadResult:
    schema, url = fresh_schema(base)
    with tempfile.TemporaryDirectory() as tmp, fake_providers() as urls, ExitStack() as stack:
        env = server_env(url, urls["twilio"], urls["telegram"])  # type: ignore[arg-type]
        env.update({"O2R_INSTANCES": str(instances), "O2R_VAR_DIR": tmp})
        settings = load_settings(env, env_file=Path(tmp) / "none")
        phones = await seed(url, settings, clients, OFFICER_CHAT)  # type: ignore[arg-type]
        answers = ["7", "3", "2"]
        forms = [signed_sms(phones[i % clients], answers[(i // clients) % len(answers)],
                            f"SM{i:032d}") for i in range(requests)]
        ports = [free_port() for _ in range(instances)]
        for port in ports:
            stack.enter_context(server(["-m", "bot.cli", "serve", "--port", str(port)], env,
                                       port))
        # The balancer: request i goes to instance i % n, each over its share of connections.
        parts = await asyncio.gather(*(post_all(
            port, [encode_post(port, PATH, f, h) for f, h in forms[k::instances]],
            concurrency // instances) for k, port in enumerate(ports)))
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
    return LoadResult(sum(p.count for p in parts), sum(p.ok for p in parts),
                      max(p.seconds for p in parts), [x for p in parts for x in p.latencies])


async def main(clients: int, requests: int, concurrency: int, rounds: int) -> dict[str, float]:
    try:
        admin = psycopg.connect(SERVER, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL not reachable at {SERVER} (set BENCH_PG): skipped ({exc})".strip())
        return {}
    name = f"o2r_bench_{secrets.token_hex(4)}"
    admin.execute(f"CREATE DATABASE {name}")
    base = SERVER.rsplit("/", 1)[0] + "/" + name
    ones, twos = [], []
    try:
        print(f"inbound SMS on PostgreSQL: {requests} signed webhooks from {clients} clients,"
              f" {concurrency} connections in all")
        for _ in range(rounds):
            one = await one_round(base, 1, clients, requests, concurrency)
            report("one instance", one)
            two = await one_round(base, 2, clients, requests, concurrency)
            report("two instances", two)
            ones.append(one.rate)
            twos.append(two.rate)
        print("escalation latency on PostgreSQL (one instance):", flush=True)
        escalation = await escalation_main(20, 50.0, clients, fresh_schema(base)[1])
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()
    ratio = median(twos) / median(ones) if ones else 0.0
    print(f"median over {rounds} rounds: one {median(ones):.0f} req/s, two {median(twos):.0f}"
          f" req/s, ratio {ratio:.2f} (goal >= 1.6)")
    return {"one_rps": median(ones), "two_rps": median(twos), "ratio": ratio, **escalation}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clients", type=int, default=600)
    ap.add_argument("--requests", type=int, default=1800)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=1)
    a = ap.parse_args()
    asyncio.run(main(a.clients, a.requests, a.concurrency, a.rounds))

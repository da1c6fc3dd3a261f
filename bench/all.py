"""`make bench`: every benchmark, one after another, each in its own process."""

from __future__ import annotations

import subprocess
import sys

BENCHES = ("bench.inbound", "bench.escalation", "bench.schedule", "bench.pacing", "bench.crisis",
           "bench.postgres")


def main() -> int:
    failed = 0
    for module in BENCHES:
        print(f"== {module}", flush=True)
        failed += subprocess.call([sys.executable, "-m", module]) != 0
    return failed


if __name__ == "__main__":
    raise SystemExit(main())

"""`make bench`: every benchmark, in order, each in its own interpreter (each starts its own
local stack, and moto is patched once per process). A failing benchmark does not stop the
others; the exit status says whether all of them ran.

    .venv/bin/python -m bench.run_all
"""

from __future__ import annotations

import subprocess
import sys
import time

# monthly_cost reads what transitions writes.
BENCHES = ("transitions", "monthly_cost", "dynamo_calls", "throughput", "api_latency", "coldstart")


def main() -> int:
    failed = []
    for name in BENCHES:
        print(f"\n== bench.{name} ==", flush=True)
        started = time.perf_counter()
        status = subprocess.run([sys.executable, "-m", f"bench.{name}"], check=False).returncode
        print(
            f"-- bench.{name}: {'correcto' if status == 0 else f'falló ({status})'}, "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
        if status:
            failed.append(name)
    print(f"\nResultados en bench/results/. Fallaron: {', '.join(failed) or 'ninguno'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""`make bench`: every benchmark the README quotes, in order, each in its own interpreter (each
starts its own local stack, and moto is patched once per process). A failing benchmark does not
stop the others; the exit status says whether all of them ran. Every results file written
during the run carries `measured` (UTC date, the machine's cores, Python, and whether its
figures are local or AWS list prices); a bench that does not write it itself gets it here.

    .venv/bin/python -m bench.run_all [--only NAME ...] [--leads 1000]

`--leads` is the load day's (bench.load_day); the whole run takes tens of minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from bench.common import RESULTS, machine

# monthly_cost reads what transitions writes.
BENCHES = (
    "transitions",
    "monthly_cost",
    "dynamo_calls",
    "throughput",
    "api_latency",
    "console_pages",
    "coldstart",
    "load_day",
)
LIST_PRICES = {"monthly_cost"}


def stamp(path: Path, where: str) -> None:
    """Add `measured` to a results file written without it."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and "measured" not in data:
        data = {"measured": machine(where), **data}
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run_all")
    parser.add_argument("--only", nargs="+", choices=BENCHES, help="these benchmarks only")
    parser.add_argument("--leads", type=int, default=1000, help="leads of the load day (default 1000)")
    args = parser.parse_args(argv)
    here = Path(__file__).resolve().parent
    failed = []
    for name in args.only or BENCHES:
        if not (here / f"{name}.py").exists():
            print(f"\n== bench.{name}: not in this tree, skipped ==", flush=True)
            continue
        print(f"\n== bench.{name} ==", flush=True)
        started = time.perf_counter()
        since = time.time()
        extra = ["--leads", str(args.leads)] if name == "load_day" else []
        status = subprocess.run([sys.executable, "-m", f"bench.{name}", *extra], check=False).returncode
        for path in RESULTS.glob("*.json"):
            if path.stat().st_mtime >= since:
                where = "AWS list prices" if name in LIST_PRICES else "local: moto on one machine"
                stamp(path, where)
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

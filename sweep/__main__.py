"""Command line of the sweeps.

    python -m vsq_accel.sweep SPACE.json [--out DIR] [--address HOST:PORT] [--workers N]
                              [--count N] [--seed S]

Runs every (configuration, job) pair of the sweep file not done yet by this code, into
DIR (default build/sweep/<name>): sweep.json, sweep.csv, pareto.png, and failed/ with a
file per failed task that `python -m vsq_accel.sweep.task` reruns. On this machine's
cores by default (--workers: fewer), on a Ray cluster with --address or RAY_ADDRESS.
--count and --seed replace the file's random draw. Exit status: 0 when every task is
done, 1 when some failed, 2 for a bad sweep file or address.
"""

import argparse
import os
import sys
from pathlib import Path

from vsq_accel.sweep.pareto import plot_pareto
from vsq_accel.sweep.runner import AddressError, check_address, run_sweep
from vsq_accel.sweep.space import SpaceError, load_space


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m vsq_accel.sweep",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("space", metavar="SPACE.json", help="the sweep file (sweep/space.py)")
    parser.add_argument("--out", metavar="DIR", help="results folder "
                        "(default: build/sweep/<the sweep's name>)")
    parser.add_argument("--address", metavar="HOST:PORT",
                        help="a Ray cluster's head (default: RAY_ADDRESS, else this machine)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="CPUs of the local Ray (default: all of this machine's)")
    parser.add_argument("--count", type=int, metavar="N",
                        help="configurations of the random draw, replacing the file's")
    parser.add_argument("--seed", type=int, metavar="S",
                        help="seed of the random draw, replacing the file's")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers {args.workers}: must be at least 1")
    if args.workers is not None and (args.address or os.environ.get("RAY_ADDRESS")):
        parser.error("--workers sizes a local Ray; a cluster's workers are its own")
    try:
        space = load_space(args.space, args.count, args.seed)
        address = args.address or os.environ.get("RAY_ADDRESS")
        if address:
            check_address(address)
    except (SpaceError, AddressError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = Path(args.out or Path("build") / "sweep" / space.name)
    try:
        results = run_sweep(space, out, address, args.workers)
    except AddressError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    rows = results.rows()
    if plot_pareto(rows, out / "pareto.png", f"{space.name}: {len(rows)} configurations"):
        print(f"wrote {out / 'sweep.csv'}, {out / 'sweep.json'} and {out / 'pareto.png'}")
    else:
        print(f"wrote {out / 'sweep.csv'} and {out / 'sweep.json'}")
    failed = [outcome for outcome in results.outcomes.values() if outcome["status"] != "done"]
    for outcome in failed:
        print(f"failed: {outcome['job']} on {outcome['config']}: {outcome['error']}\n"
              f"  reproduce: {outcome['reproduce']}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

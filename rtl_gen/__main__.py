"""Command line: emit the Verilog of a configuration, and optionally lint it.

    python -m vsq_accel.rtl_gen [--config FILE.json] [--out DIR] [--lint]
"""

import argparse
import sys
from pathlib import Path

from vsq_accel.rtl_gen.emit import emit
from vsq_accel.rtl_gen.verilator import lint
from vsq_accel.spec.config import AcceleratorConfig


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m vsq_accel.rtl_gen",
        description="Emit the accelerator's Verilog, its configuration and a summary.")
    parser.add_argument("--config", metavar="FILE",
                        help="configuration JSON (default: the built-in default)")
    parser.add_argument("--out", metavar="DIR", default="build/verilog/default",
                        help="output folder (default: %(default)s)")
    parser.add_argument("--lint", action="store_true",
                        help="run verilator --lint-only -Wall on every emitted design")
    args = parser.parse_args(argv)

    if not args.out.strip():
        parser.error("--out is empty: name the output folder")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        parser.error(f"--out {args.out}: is a file, not a folder")
    config = AcceleratorConfig.load_for_command_line(args.config)
    try:
        sources = emit(config, out)
    except OSError as error:
        print(f"error: cannot write into --out {args.out}: {error.strerror or error}",
              file=sys.stderr)
        return 2
    lanes = f"{config.lanes} lane{'s' if config.lanes != 1 else ''}"
    print(f"{config.format_name}, {lanes} x {config.vector_size}: "
          f"wrote {', '.join(str(s) for s in sources)} and {out / 'summary.md'}")
    if args.lint:
        for source in sources:
            clean, report = lint(source, source.stem)
            if not clean:
                print(f"error: lint of {source} failed:\n{report}", file=sys.stderr)
                return 1
            print(f"lint clean: {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

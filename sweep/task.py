"""One (configuration, job) pair of a sweep: its key, running it with everything it
prints kept, and a file that reproduces it without Ray.

    python -m vsq_accel.sweep.task FAILED.json      rerun one task here, printing all

The key hashes the configuration, the job with its options and the code's version (the
project's sources), so a rerun of a sweep skips what this code has done already, and a
change to the code runs everything again.
"""

import contextlib
import dataclasses
import hashlib
import json
import os
import socket
import sys
import tempfile
import time
import traceback
from pathlib import Path

from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.sweep.jobs import JOBS, JobFailed

__all__ = ["Task", "code_version", "run_task"]

_ROOT = Path(__file__).resolve().parents[1]
# What is not the code: tests, results, configurations (a task keys its own), builds.
_NOT_CODE = {"tests", "results", "configs", "build", "sim_build", "__pycache__"}
# The lines of a log kept in the results file (the whole log goes to its own file).
_LOG_TAIL = 40


@dataclasses.dataclass(frozen=True)
class Task:
    config: AcceleratorConfig
    job: str
    options: dict

    def key(self, code):
        """16 hex digits of the SHA-256 of the configuration, job, options and `code`."""
        text = json.dumps({"config": self.config.to_dict(), "job": self.job,
                           "options": self.options, "code": code}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def config_id(self):
        """8 hex digits that name the configuration in tables and plots."""
        return hashlib.sha256(self.config.to_json().encode()).hexdigest()[:8]

    def to_json(self):
        return json.dumps({"job": self.job, "options": self.options,
                           "config": self.config.to_dict()}, indent=1)

    @classmethod
    def from_json(cls, text):
        spec = json.loads(text)
        return cls(AcceleratorConfig.from_dict(spec["config"]), spec["job"], spec["options"])


def code_version():
    """SHA-256 (16 hex digits) of the project's Python and JSON sources."""
    sources = []
    for folder, subfolders, files in os.walk(_ROOT):
        subfolders[:] = [name for name in subfolders
                         if name not in _NOT_CODE and not name.startswith(".")]
        sources += [Path(folder, name) for name in files if name.endswith((".py", ".json"))]
    digest = hashlib.sha256()
    for path in sorted(sources):
        digest.update(str(path.relative_to(_ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def run_task(task):
    """Run `task` with its output captured: {"status": "done", "figures"} or
    {"status": "failed", "error", "log"}, with "seconds" and "host" either way."""
    start = time.monotonic()
    with _captured() as log:
        try:
            outcome = {"status": "done",
                       "figures": JOBS[task.job].run(task.config, **task.options)}
        except JobFailed as failure:
            outcome = {"status": "failed", "error": str(failure).splitlines()[0]}
        # A defect or a tool's failure (cocotb's runner exits when a build fails): recorded,
        # and the sweep goes on.
        except (Exception, SystemExit) as error:
            traceback.print_exc()
            outcome = {"status": "failed", "error": f"{type(error).__name__}: {error}"}
    if outcome["status"] == "failed":
        outcome["log"] = log.text
    return {**outcome, "seconds": round(time.monotonic() - start, 1),
            "host": socket.gethostname()}


class _Log:
    text = ""


@contextlib.contextmanager
def _captured():
    """Everything written to stdout and stderr meanwhile, by this process and by the
    tools it starts (Yosys, the simulators), into the yielded log's text."""
    log = _Log()
    with tempfile.TemporaryFile("w+") as file:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(1), os.dup(2)]
        os.dup2(file.fileno(), 1)
        os.dup2(file.fileno(), 2)
        try:
            yield log
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in zip((1, 2), saved):
                os.dup2(copy, fd)
                os.close(copy)
            file.seek(0)
            log.text = file.read()


def tail(text, lines=_LOG_TAIL):
    return "\n".join(text.splitlines()[-lines:])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m vsq_accel.sweep.task TASK.json", file=sys.stderr)
        return 2
    try:
        task = Task.from_json(Path(argv[0]).read_text())
    except (OSError, ValueError, KeyError) as error:
        print(f"error: {argv[0]}: not a sweep task: {error}", file=sys.stderr)
        return 2
    print(f"{task.job} on configuration {task.config_id} with {json.dumps(task.options)}")
    figures = JOBS[task.job].run(task.config, **task.options)
    print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

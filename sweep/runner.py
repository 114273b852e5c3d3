"""Running a sweep's tasks on Ray: each (configuration, job) pair is a Ray task, on this
machine's cores by default or on a cluster's workers (`address`, or RAY_ADDRESS).

Tasks finished by this code before are skipped; each task's outcome is written as it
ends (`sweep.results`); a progress bar shows done, failed, running and the time left.
"""

import os
import socket
import sys
import time

import ray
from tqdm import tqdm

from vsq_accel.sweep.jobs import JOBS
from vsq_accel.sweep.results import Results
from vsq_accel.sweep.task import Task, code_version, run_task

__all__ = ["run_sweep", "AddressError", "check_address"]

# A local Ray keeps a small object store: the tasks pass only small dictionaries.
_OBJECT_STORE_BYTES = 200 << 20
_CONNECT_SECONDS = 5


class AddressError(ValueError):
    """A cluster address that nothing answers at, that is not an address, or whose
    cluster refuses this machine."""


def check_address(address):
    """Raise AddressError unless a Ray head answers at `address` ("host:port" or
    "ray://host:port"; "auto" is left to Ray)."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise AddressError(f"{address!r} is not a cluster address: give HOST:PORT, as "
                           "`ray start --head` prints it")
    try:
        socket.create_connection((host, int(port)), timeout=_CONNECT_SECONDS).close()
    except OSError as error:
        raise AddressError(f"no Ray head answers at {address}: "
                           f"{error.strerror or error}") from None


def run_sweep(space, out, address=None, workers=None):
    """Run every task of `space` not done yet into folder `out`; return the Results.
    `workers`: CPUs of a local Ray (default: all of this machine's)."""
    code = code_version()
    tasks = {}
    for config in space.configs:
        for job, options in space.jobs.items():
            task = Task(config, job, options)
            tasks[task.key(code)] = task
    results = Results(out, space, tasks, code)
    pending = [key for key in tasks if not results.done(key)]
    print(f"{space.name}: {len(space.configs)} configurations x {len(space.jobs)} jobs = "
          f"{len(tasks)} tasks, {len(tasks) - len(pending)} done before, {len(pending)} to run"
          + (f"; {space.refused} grid combinations refused (first: {space.first_refusal})"
             if space.refused else ""), flush=True)
    if not pending:
        return results
    _start_ray(address, workers)
    try:
        _run(pending, tasks, results)
    finally:
        ray.shutdown()
    return results


def _start_ray(address, workers):
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        try:
            ray.init(address=address, log_to_driver=False)
        except (ConnectionError, RuntimeError) as error:
            raise AddressError(
                f"cannot join the Ray cluster at {address} ({str(error).splitlines()[0]}); a "
                "cluster that `ray start` made authenticates by token: RAY_AUTH_MODE=token "
                "here, with the head's ~/.ray/auth_token or RAY_AUTH_TOKEN") from None
    else:
        # "local": a Ray of its own, even beside a cluster that `ray start` runs here.
        ray.init(address="local", num_cpus=workers, include_dashboard=False,
                 log_to_driver=False, object_store_memory=_OBJECT_STORE_BYTES)
    cpus = int(ray.cluster_resources().get("CPU", 0))
    print(f"Ray: {'cluster at ' + address if address else 'this machine'}, {cpus} CPUs",
          flush=True)


def _run(pending, tasks, results):
    remote = ray.remote(run_task)
    resources = ray.cluster_resources()
    cpus = int(resources.get("CPU", 1))
    # A job's memory, but never more than the cluster has: such a task would wait forever.
    memory = {name: min(job.memory, int(resources.get("memory", job.memory)))
              for name, job in JOBS.items()}
    running = {remote.options(num_cpus=1, memory=memory[tasks[key].job])
               .remote(tasks[key]): key for key in pending}
    done = failed = 0
    with tqdm(total=len(pending), unit="task", file=sys.stderr, mininterval=1,
              disable=None) as bar:
        while running:
            bar.set_postfix(done=done, failed=failed, running=min(len(running), cpus),
                            queued=max(len(running) - cpus, 0))
            ready, _ = ray.wait(list(running), num_returns=1, timeout=1)
            for ref in ready:
                key = running.pop(ref)
                task = tasks[key]
                try:
                    outcome = ray.get(ref)
                except ray.exceptions.RayError as error:
                    # The worker died (out of memory, a crash): the task could not report.
                    outcome = {"status": "failed", "error": type(error).__name__,
                               "log": str(error), "seconds": None, "host": None}
                results.record(key, outcome)
                if outcome["status"] == "done":
                    done += 1
                    line = f"done   {task.job:<8} {task.config_id}  {outcome['seconds']} s"
                else:
                    failed += 1
                    line = (f"FAILED {task.job:<8} {task.config_id}  {outcome['error']}\n"
                            f"       {results.outcomes[key]['reproduce']}")
                bar.write(f"{time.strftime('%H:%M:%S')} {line}", file=sys.stdout)
                bar.update()

"""A sweep's results, written again as each task ends, so that an interrupted sweep keeps
what it finished and a rerun skips it.

OUT/sweep.json   {"name", "code", "tasks": {key: task and outcome}, "rows": [...]}
OUT/sweep.csv    the rows: one per configuration, the keys that vary, every job's figures
OUT/failed/KEY.json, KEY.log   a failed task, to rerun with `python -m vsq_accel.sweep.task`
"""

import csv
import json
import os
from pathlib import Path

from vsq_accel.sweep.task import tail

__all__ = ["Results"]


class Results:
    def __init__(self, out, space, tasks, code):
        """`tasks` maps each key of the sweep to its Task, in the sweep's order; what the
        folder holds for those keys is read back (other keys are another sweep's or
        another code's, and are dropped)."""
        self.out, self.space, self.tasks, self.code = Path(out), space, tasks, code
        self.out.mkdir(parents=True, exist_ok=True)
        self.path = self.out / "sweep.json"
        try:
            earlier = json.loads(self.path.read_text())["tasks"]
        except (OSError, ValueError, KeyError, TypeError):
            earlier = {}
        self.outcomes = {key: earlier[key] for key in tasks if key in earlier}

    def done(self, key):
        return self.outcomes.get(key, {}).get("status") == "done"

    def record(self, key, outcome):
        """Keep `outcome` of task `key` and write every file again."""
        task, failed = self.tasks[key], self.out / "failed"
        outcome = dict(outcome)
        if outcome["status"] == "failed":
            failed.mkdir(exist_ok=True)
            (failed / f"{key}.json").write_text(task.to_json())
            (failed / f"{key}.log").write_text(outcome["log"])
            outcome["log"] = tail(outcome["log"])
            outcome["reproduce"] = f"python -m vsq_accel.sweep.task {failed / f'{key}.json'}"
        else:
            for stale in failed.glob(f"{key}.*"):
                stale.unlink()
        self.outcomes[key] = {"job": task.job, "config": task.config_id, **outcome}
        self._write()

    def rows(self):
        """One row per configuration: its id, the configuration keys that vary over the
        sweep, every job's figures, and the jobs that failed on it."""
        configs = {}
        for task in self.tasks.values():
            configs.setdefault(task.config_id, task.config.to_dict())
        varying = [name for name in next(iter(configs.values()))
                   if len({json.dumps(config[name]) for config in configs.values()}) > 1]
        rows = {id: {"config": id, **{name: config[name] for name in varying}, "failed": ""}
                for id, config in configs.items()}
        for key, task in self.tasks.items():
            outcome = self.outcomes.get(key)
            if outcome and outcome["status"] == "done":
                rows[task.config_id] |= outcome["figures"]
            elif outcome:
                rows[task.config_id]["failed"] = " ".join(
                    filter(None, (rows[task.config_id]["failed"], task.job)))
        return list(rows.values())

    def _write(self):
        rows = self.rows()
        _replace(self.path, json.dumps({"name": self.space.name, "code": self.code,
                                        "tasks": self.outcomes, "rows": rows}, indent=1))
        columns = list(dict.fromkeys(name for row in rows for name in row))
        columns.append(columns.pop(columns.index("failed")))
        with open(self.out / "sweep.csv.new", "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(self.out / "sweep.csv.new", self.out / "sweep.csv")


def _replace(path, text):
    """Write `path` whole or not at all: an interrupted sweep leaves a readable file."""
    new = path.with_name(path.name + ".new")
    new.write_text(text + "\n")
    os.replace(new, path)

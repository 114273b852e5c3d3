"""A record of every intermediate tensor of a tile's run, with its format, in order."""

import dataclasses
import json
from pathlib import Path

import numpy as np

__all__ = ["Trace"]


@dataclasses.dataclass
class Trace:
    """Every intermediate tensor of a program run, with its format, in order."""

    entries: list = dataclasses.field(default_factory=list)

    def add(self, name, values, fmt, unit=None):
        self.entries.append((name, np.asarray(values), fmt, unit))

    def __getitem__(self, name):
        return next(values for entry, values, _, _ in self.entries if entry == name)

    def save(self, path):
        """Arrays in <path>.npz, and <path>.json listing name, shape, format and unit."""
        path = Path(path)
        np.savez_compressed(path.with_suffix(".npz"),
                            **{name: values for name, values, _, _ in self.entries})
        manifest = [{"name": name, "shape": list(values.shape), "format": fmt, "unit": unit}
                    for name, values, fmt, unit in self.entries]
        path.with_suffix(".json").write_text(json.dumps(manifest, indent=1) + "\n")

    @classmethod
    def load(cls, path):
        path = Path(path)
        arrays = np.load(path.with_suffix(".npz"))
        manifest = json.loads(path.with_suffix(".json").read_text())
        return cls([(item["name"], arrays[item["name"]], item["format"], item["unit"])
                    for item in manifest])

"""A sweep file: which configurations, and which jobs on each.

    {
      "name": "deit_s",                             names the results folder
      "description": "...",
      "base": {"softmax_max_row": 256},            configuration keys every point shares
      "grid": {"vector_size": [16, 32],             a list per key, or
               "lanes": {"from": 4, "to": 16, "step": 4}},   an inclusive range
      "random": {"count": 50, "seed": 7, "wide": true},       N valid draws (spec.random_configs)
      "jobs": {"perf": {"workloads": ["deit_s"]}, "synth": {}}
    }

The grid's points are every combination of its values over `base`; `random` adds its
draws (`base` does not apply to them). Each value of the grid must be valid on its own
over `base`; a combination the configuration rules refuse (say scale_bits 2 beside the
default scale_product_bits 8) is left out and counted, as a design space has such
corners. Anything else wrong is a `SpaceError` naming it.
"""

import dataclasses
import itertools
import json
from pathlib import Path

from vsq_accel.spec.config import AcceleratorConfig, ConfigError
from vsq_accel.spec.random_configs import drawn
from vsq_accel.sweep.jobs import JOBS, JobError

__all__ = ["Space", "SpaceError", "load_space"]

_KEYS = ("name", "description", "base", "grid", "random", "jobs")
_RANDOM_KEYS = ("count", "seed", "wide")
_RANGE_KEYS = ("from", "to", "step")


class SpaceError(ValueError):
    """A sweep file that cannot be run, with what is wrong in it."""


@dataclasses.dataclass(frozen=True)
class Space:
    """The configurations of a sweep (in a fixed order), the jobs with their full options,
    and how many grid combinations the configuration rules refused (`refused`, with the
    first one's reason)."""

    name: str
    configs: tuple
    jobs: dict
    refused: int = 0
    first_refusal: str = ""


def load_space(path, count=None, seed=None):
    """The Space of sweep file `path`; `count` and `seed` replace its random draw's
    (`make test-random N=... SEED=...`)."""
    path = Path(path)
    try:
        spec = json.loads(path.read_text())
    except OSError as error:
        raise SpaceError(f"cannot read sweep file {path}: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SpaceError(f"{path}: not valid JSON: {error}") from None
    try:
        return _space(spec, path.stem, count, seed)
    except (SpaceError, JobError) as error:
        raise SpaceError(f"{path}: {error}") from None


def _space(spec, default_name, count, seed):
    if not isinstance(spec, dict):
        raise SpaceError("a sweep file is a JSON object with "
                         f"{', '.join(map(repr, _KEYS))}")
    _known(spec, _KEYS, "key")
    if "jobs" not in spec:
        raise SpaceError(f"no \"jobs\": name at least one of {', '.join(JOBS)}")
    jobs = _object(spec["jobs"], "\"jobs\"")
    if not jobs:
        raise SpaceError(f"\"jobs\" is empty: name at least one of {', '.join(JOBS)}")
    for job in jobs:
        if job not in JOBS:
            raise SpaceError(f"unknown job {job!r}; the jobs are {', '.join(JOBS)}")
    jobs = {job: JOBS[job].options(_object(options, f"options of job {job!r}"))
            for job, options in jobs.items()}
    base = _object(spec.get("base", {}), "\"base\"")
    try:
        AcceleratorConfig.from_dict(base)
    except ConfigError as error:
        raise SpaceError(f"\"base\": {error}") from None
    configs, refused, first = [], 0, ""
    if "grid" in spec:
        configs, refused, first = _grid(_object(spec["grid"], "\"grid\""), base)
    if "random" in spec or count is not None:
        configs += _random(_object(spec.get("random", {}), "\"random\""), count, seed)
    if not configs:
        raise SpaceError("no configurations: give a \"grid\", a \"random\" draw, or both"
                         + (f" (every grid combination was refused: {first})" if first else ""))
    return Space(spec.get("name", default_name), tuple(dict.fromkeys(configs)), jobs,
                 refused, first)


def _grid(grid, base):
    """Every valid combination of the grid's values over `base`."""
    if not grid:
        raise SpaceError("\"grid\" is empty: give each swept key a list or a range")
    values = {key: _values(key, given, base) for key, given in grid.items()}
    configs, refused, first = [], 0, ""
    for point in itertools.product(*values.values()):
        try:
            configs.append(AcceleratorConfig.from_dict({**base, **dict(zip(values, point))}))
        except ConfigError as error:
            refused += 1
            first = first or str(error)
    return configs, refused, first


def _values(key, given, base):
    """The values of one grid key: a non-empty list, or a {"from", "to", "step"} range
    of integers; each valid on its own over `base`."""
    if isinstance(given, dict):
        _known(given, _RANGE_KEYS, f"key of the range of {key!r}")
        bounds = [given.get(name, 1 if name == "step" else None) for name in _RANGE_KEYS]
        if not all(isinstance(bound, int) and not isinstance(bound, bool) for bound in bounds):
            raise SpaceError(f"the range of {key!r} needs integer \"from\" and \"to\" (and "
                             f"\"step\"), not {json.dumps(given)}")
        start, stop, step = bounds
        if step < 1 or start > stop:
            raise SpaceError(f"the range of {key!r} is empty: {json.dumps(given)} (\"from\" "
                             "at most \"to\", \"step\" at least 1)")
        given = list(range(start, stop + 1, step))
    if not isinstance(given, list) or not given:
        raise SpaceError(f"grid key {key!r}: give a non-empty list of values or a range "
                         f"{{\"from\": .., \"to\": .., \"step\": ..}}, not {json.dumps(given)}")
    for value in given:
        try:
            AcceleratorConfig.from_dict({**base, key: value})
        except ConfigError as error:
            raise SpaceError(f"grid key {key!r}: {error}") from None
    return given


def _random(spec, count, seed):
    _known(spec, _RANDOM_KEYS, "key of \"random\"")
    count = spec.get("count", 1) if count is None else count
    seed = spec.get("seed", 0) if seed is None else seed
    wide = spec.get("wide", False)
    for name, value in (("count", count), ("seed", seed)):
        if not isinstance(value, int) or isinstance(value, bool) or value < (name == "count"):
            raise SpaceError(f"random {name} must be a "
                             f"{'positive' if name == 'count' else 'non-negative'} integer, "
                             f"not {json.dumps(value)}")
    if not isinstance(wide, bool):
        raise SpaceError(f"random wide must be true or false, not {json.dumps(wide)}")
    return drawn(seed, count, wide)


def _object(value, what):
    if not isinstance(value, dict):
        raise SpaceError(f"{what} must be a JSON object, not {json.dumps(value)}")
    return value


def _known(spec, keys, what):
    unknown = sorted(set(spec) - set(keys))
    if unknown:
        raise SpaceError(f"unknown {what} {unknown[0]!r}; known: {', '.join(keys)}")

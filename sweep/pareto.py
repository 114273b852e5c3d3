"""The Pareto plot of a sweep: cycles per inference (and energy, when the sweep has it)
against area, accuracy as colour; the configurations no other beats on every objective
present (area, cycles, energy, accuracy) are the front, ringed and named."""

import dataclasses
import math

import matplotlib

from vsq_accel.spec.config import AcceleratorConfig

matplotlib.use("Agg")
from matplotlib import pyplot, ticker  # noqa: E402 (after choosing the backend)

__all__ = ["objectives", "front", "plot_pareto"]

# The configuration keys a row has (those that vary over its sweep), and short names of
# some, for the labels of the front.
_CONFIG_KEYS = {field.name for field in dataclasses.fields(AcceleratorConfig)}
_SHORT = {"lanes": "L", "vector_size": "V", "scale_bits": "M", "data_bits": "N"}

# Objective -> the first figure whose name starts with it, and whether more is better.
_OBJECTIVES = {"area": (("transistors_", "luts_"), False), "cycles": (("cycles_",), False),
               "energy": (("energy_uj_",), False), "accuracy": (("top1_",), True)}


def objectives(rows):
    """{objective: (column, more_is_better)} for the objectives the rows have."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    found = {}
    for objective, (prefixes, higher) in _OBJECTIVES.items():
        column = next((name for prefix in prefixes for name in names
                       if name.startswith(prefix)), None)
        if column:
            found[objective] = (column, higher)
    return found


def front(rows, columns):
    """The rows that have every column of `columns` ({column: more_is_better}) and that
    no other such row is at least as good as on all of them and better on one."""
    scored = [(row, [-row[c] if higher else row[c] for c, higher in columns.items()])
              for row in rows if all(row.get(c) not in (None, "") for c in columns)]

    def beaten(score):
        return any(all(o <= s for o, s in zip(other, score)) and other != score
                   for _, other in scored)

    return [row for row, score in scored if not beaten(score)]


def plot_pareto(rows, path, title):
    """Write the plot to `path`; False (and nothing written) without area and cycles."""
    found = objectives(rows)
    if "area" not in found or "cycles" not in found:
        return False
    area = found["area"][0]
    panels = [found[name][0] for name in ("cycles", "energy") if name in found]
    best = front(rows, dict(found.values()))
    accuracy = found.get("accuracy", (None,))[0]
    varying = [name for name in rows[0] if name in _CONFIG_KEYS]
    figure, axes = pyplot.subplots(1, len(panels), figsize=(6 * len(panels), 4.5),
                                   squeeze=False)
    for axis, column in zip(axes[0], panels):
        shown = [row for row in rows if row.get(area) not in (None, "")
                 and row.get(column) not in (None, "")]
        colours = [row.get(accuracy) for row in shown] if accuracy else None
        points = axis.scatter([row[area] for row in shown], [row[column] for row in shown],
                              c=colours, cmap="viridis", s=36, zorder=2)
        ringed = [row for row in best if row in shown]
        axis.scatter([row[area] for row in ringed], [row[column] for row in ringed], s=140,
                     facecolors="none", edgecolors="crimson", linewidths=1.5, zorder=3,
                     label="Pareto front (every objective)")
        # Names of configurations close together go one above another.
        for index, row in enumerate(ringed):
            near = sum(_near(row, other, area, column) for other in ringed[:index])
            axis.annotate(_label(row, varying), (row[area], row[column]), fontsize=7,
                          xytext=(5, 3 + 9 * near), textcoords="offset points")
        staircase = sorted(front(shown, {area: False, column: False}), key=lambda r: r[area])
        axis.step([row[area] for row in staircase], [row[column] for row in staircase],
                  where="post", color="crimson", alpha=0.4, zorder=1)
        _log_axes(axis, [row[area] for row in shown], [row[column] for row in shown])
        axis.margins(x=0.12, y=0.12)               # room for the names at the edges
        axis.set_xlabel(area.replace("_", " "))
        axis.set_ylabel(column.replace("_", " "))
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
        if accuracy:
            figure.colorbar(points, ax=axis, label=accuracy.replace("_", " "))
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)
    return True


def _label(row, varying):
    """The configuration keys that vary over the sweep, short: "L4 V16 M8"."""
    return " ".join(f"{_SHORT[name]}{row[name]}" if name in _SHORT else f"{name}={row[name]}"
                    for name in varying) or row["config"]


def _near(row, other, x, y):
    """Whether two points are close enough on log axes for their names to overlap."""
    return (abs(math.log(row[x] / other[x])) < 0.3 and abs(math.log(row[y] / other[y])) < 0.05)


def _log_axes(axis, xs, ys):
    """Log scales where the values span more than a factor of 4, in engineering units."""
    for values, scale, which in ((xs, axis.set_xscale, axis.xaxis),
                                 (ys, axis.set_yscale, axis.yaxis)):
        if max(values) > 4 * min(values):
            scale("log")
            which.set_minor_locator(ticker.LogLocator(subs=(2, 3, 5)))
            which.set_minor_formatter(ticker.EngFormatter())
        which.set_major_formatter(ticker.EngFormatter())

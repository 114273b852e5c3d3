"""Energy per inference of workloads, per format: the table `python -m vsq_accel.perf
--energy` prints and the stacked bars it draws (`perf.energy` prices the events of
`perf.activity`)."""

import dataclasses

from vsq_accel.perf.activity import workload_activity
from vsq_accel.perf.energy import COMPONENTS, energy_split, event_energies
from vsq_accel.perf.model import cost_workload

__all__ = ["EnergyPoint", "energy_point", "print_energy", "plot_energy"]

# The components in the order the table and the bars show them.
ORDER = tuple(dict.fromkeys(COMPONENTS.values()))


@dataclasses.dataclass(frozen=True)
class EnergyPoint:
    """One workload in one format: its energy split (pJ by component), MACs and cycles."""

    workload: str
    format: str
    split: dict
    macs: int
    cycles: int

    @property
    def picojoules(self):
        return sum(self.split.values())

    def tops_per_w(self):
        """Operations (2 a MAC) per joule, in tera."""
        return 2 * self.macs / (self.picojoules * 1e-12) / 1e12

    def inferences_per_s_per_w(self):
        """Inferences per joule."""
        return 1 / (self.picojoules * 1e-12)

    def watts(self, clock_mhz):
        """Power at the clock: the energy of an inference over its time."""
        return self.picojoules * 1e-12 * clock_mhz * 1e6 / self.cycles


def energy_point(workload, config, format, table, node_nm, vdd, assumptions, host="dram"):
    """The EnergyPoint of `workload` with every matmul in `format`."""
    costs = cost_workload(workload, config, assumptions, format=format)
    split = energy_split(workload_activity(workload, config, format),
                         event_energies(table, config, node_nm, vdd, host))
    return EnergyPoint(workload.name, format, {name: split.get(name, 0.0) for name in ORDER},
                       sum(cost.macs for cost in costs), sum(cost.cycles for cost in costs))


def print_energy(points, node_nm, vdd, clock_mhz, host):
    print(f"\nenergy per inference at {node_nm:g} nm, {vdd:g} V, {clock_mhz:g} MHz, host data "
          f"from {'DRAM' if host == 'dram' else 'on-chip memory'}")
    print(f"  {'workload':<16} {'format':<9} {'uJ':>9} " + " ".join(
        f"{name:>9}" for name in ORDER) + f" {'TOPS/W':>7} {'inf/s/W':>8} {'W':>6}")
    for point in points:
        shares = " ".join(f"{point.split[name] / point.picojoules:>9.1%}" for name in ORDER)
        print(f"  {point.workload:<16} {point.format:<9} {point.picojoules / 1e6:>9.4g} "
              f"{shares} {point.tops_per_w():>7.3g} {point.inferences_per_s_per_w():>8.4g} "
              f"{point.watts(clock_mhz):>6.3g}")


def plot_energy(points, path, title):
    """Stacked bars of each point's energy by component."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(max(5, 1.3 * len(points) + 2), 4))
    labels = [f"{point.workload}\n{point.format}" for point in points]
    bottom = [0.0] * len(points)
    for name in ORDER:
        heights = [point.split[name] / 1e6 for point in points]
        axes.bar(labels, heights, bottom=bottom, label=name)
        bottom = [low + height for low, height in zip(bottom, heights)]
    axes.set_ylabel("energy per inference (uJ)")
    axes.set_title(title)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)

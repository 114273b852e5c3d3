"""The committed synthesis figures came from the RTL of today: every results file of
`make synth` records, per figure, the block, its configuration and the SHA-256 of their
Verilog, and each is emitted again here and compared (synthesis itself is not rerun).
A change to a synthesized block fails this until `make synth` has measured it again."""

import json
from pathlib import Path

import pytest

from vsq_accel.rtl_gen.designs import SYNTHESIZED
from vsq_accel.rtl_gen.synth import rtl_hash
from vsq_accel.spec.config import AcceleratorConfig

RESULTS = sorted((Path(__file__).resolve().parents[2] / "bench" / "results").glob("synth*.json"))
RECORDS = {path.name: json.loads(path.read_text()) for path in RESULTS}
ENTRIES = [(name, key, entry) for name, results in RECORDS.items()
           for key, entry in results.get("rtl", {}).items()]


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_every_results_file_names_its_rtl(name):
    assert RECORDS[name].get("rtl"), (f"bench/results/{name} does not record the RTL its "
                                      "figures came from: rerun make synth")


@pytest.mark.parametrize("name, key, entry", ENTRIES,
                         ids=[f"{name}-{key}" for name, key, _ in ENTRIES])
def test_the_figures_came_from_the_rtl_of_today(name, key, entry):
    config = AcceleratorConfig.from_dict(entry["config"])
    block = entry["block"]
    assert rtl_hash(SYNTHESIZED[block].build(config), block) == entry["sha256"], (
        f"bench/results/{name}: the figures of {key} ({block}) came from other RTL than "
        "today's: rerun make synth")

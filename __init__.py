"""vsq_accel: a generator of a per-vector-scaled (VSQ) transformer-inference datapath,
with its golden model, compiler, simulators' testbenches and studies.

The two names a user's own code needs first are here::

    from vsq_accel import AcceleratorConfig, Emulator

Layers (each imports only those to its left): spec <- golden <- toolchain, api <-
accuracy <- sim <- bench; spec <- hw <- rtl_gen <- sim; spec <- perf <- sim. README.md
maps the folders.
"""

__all__ = ["AcceleratorConfig", "Emulator"]


def __getattr__(name):
    # Imported on first use, so that `import vsq_accel.spec` stays free of numpy's
    # golden model and of Amaranth.
    if name == "AcceleratorConfig":
        from vsq_accel.spec.config import AcceleratorConfig
        return AcceleratorConfig
    if name == "Emulator":
        from vsq_accel.api.emulator import Emulator
        return Emulator
    raise AttributeError(f"module 'vsq_accel' has no attribute {name!r}")

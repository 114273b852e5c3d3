"""Fixtures shared by the golden model's tests."""

import pytest


@pytest.fixture(params=["numpy", "compiled"])
def golden_path(request, monkeypatch):
    """Run a test on the golden model's numpy paths and on its compiled kernels, which
    must give the same bits (the size from which the kernels run, set to 0 or never)."""
    monkeypatch.setattr("vsq_accel.golden.compute.COMPILED_FROM",
                        0 if request.param == "compiled" else 1 << 62)
    return request.param

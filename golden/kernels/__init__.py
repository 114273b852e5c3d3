"""numba kernels of the golden model's large steps: the same bits as its numpy paths,
imported only where a step is large enough to pay for them (`golden.compute`)."""

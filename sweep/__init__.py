"""Design-space sweeps and random-configuration regressions on Ray: a sweep file names
configurations and jobs (`sweep.space`, `sweep.jobs`), each pair runs as a Ray task on
this machine or a cluster (`sweep.runner`), results stream into one table
(`sweep.results`) and a Pareto plot (`sweep.pareto`)."""

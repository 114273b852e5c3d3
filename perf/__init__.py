"""The cycle model: workloads lowered through the compiler's command lists, each command
costed, the controller's schedule (`python -m vsq_accel.perf`)."""

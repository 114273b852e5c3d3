"""The softmax unit's arithmetic as an RVV 1.0 kernel (softmax.c), run on QEMU's RISC-V
user mode and held bit-exact with the golden softmax; its instruction counts, and an
estimate of its cycles on Ara beside the unit's (python -m vsq_accel.bench ara)."""

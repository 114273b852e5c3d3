"""The registry of designs, Verilog emission and lint (`python -m vsq_accel.rtl_gen`), and
the synthesis flow (`python -m vsq_accel.rtl_gen.synth`)."""

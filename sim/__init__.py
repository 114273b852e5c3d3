"""cocotb testbenches: stream drivers, a harness and tests for each emitted design, the
accelerator's host, and the runner that builds the Verilog for Icarus and Verilator."""

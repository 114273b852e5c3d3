"""What the accelerator is, with neither Amaranth nor numba: the configuration and its
widths, the command set, the streams' payloads, every cycle count, the host interface
and the numeric tables that the golden model and the RTL share."""

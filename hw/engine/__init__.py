"""The tile engine: the buffers, the controller that runs a command list, the host's
data streams and the AXI top level."""

"""The VSQ MAC array: lanes of V-wide dot products with per-vector scales, their operand
buffer and collector, and the feeders that read the operand buffers in its schedule."""

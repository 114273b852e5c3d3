"""The Amaranth components, a folder per block: the MAC array, the softmax unit, the
post-processing unit and the tile engine, with what they share in `hw.lib`."""

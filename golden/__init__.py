"""The golden model: the bit-exact reference arithmetic the RTL is held to (quantizers,
the VSQ matmul, the softmax, the PPU) and the tiles' integer programs."""

"""A cocotb harness around the emitted MAC array: drives a scheduled GEMM through its three
streams and compares every output column with the golden model, bit for bit."""

import dataclasses

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, ReadOnly

from vsq_accel.golden.array_schedule import array_streams
from vsq_accel.golden.quantize import QuantizedRows
from vsq_accel.sim.streams import CLOCK_NS, Idle, StreamSink, StreamSource, start_and_reset, within
from vsq_accel.spec import ports
from vsq_accel.spec.ports import OperandPart

__all__ = ["MacArrayHarness", "integer_operands", "random_operands"]


@dataclasses.dataclass(frozen=True)
class GemmRun:
    """What one GEMM did on the array: its schedule and the transfer times (ns)."""

    streams: object
    a_times: list
    b_times: list
    c_times: list

    @property
    def cycles(self):
        """Clock cycles from the first accepted input to the last output, inclusive."""
        first = min(self.a_times[0], self.b_times[0])
        return round((self.c_times[-1] - first) / CLOCK_NS) + 1


def random_operands(rng, rows, length, config):
    """Integer operands over the whole range, -2^(N-1) and scales 0 and 2^M - 1 included."""
    values = rng.integers(config.data_min, config.data_max + 1, size=(rows, length))
    vectors = -(-length // config.vector_size)
    scales = (rng.integers(0, config.scale_max + 1, size=(rows, vectors))
              if config.vector_scales else None)
    return integer_operands(values, scales, config)


def integer_operands(values, scales, config):
    """Wrap integer values (rows x K, K a multiple of V) and scales as quantized rows."""
    values = np.asarray(values, dtype=np.int64)
    padded = -values.shape[1] % config.vector_size
    values = np.pad(values, ((0, 0), (0, padded)))
    return QuantizedRows(values, None if scales is None else np.asarray(scales, np.int64),
                         np.ones((len(values), 1)), config.vector_size, values.shape[1])


class MacArrayHarness:
    """Clock, reset and the three stream ends of the DUT."""

    def __init__(self, dut, config):
        self.dut = dut
        self.config = config
        self._a_port = ports.a_vector(config)
        self._b_port = ports.b_vector(config)
        self._c_port = ports.output_column(config)

    async def reset(self):
        await start_and_reset(self.dut, ("a", "b"), ("c",))

    async def run_gemm(self, a, b_t, idle=Idle(), seed=0, initial=None, format=None):
        """Run A @ B (quantized A and B^T, in `format`: the entries' own if None), from
        `initial` accumulators if given, with random idle cycles; check every column."""
        return await self.run_streams(array_streams(a, b_t, self.config, initial, format),
                                      idle, seed)

    async def run_streams(self, streams, idle=Idle(), seed=0):
        """Send scheduled streams (`golden.array_schedule`) with random idle cycles;
        check every column."""
        source_a = StreamSource(self.dut, "a", self.dut.clk, idle.a, seed)
        source_b = StreamSource(self.dut, "b", self.dut.clk, idle.b, seed + 1)
        sink_c = StreamSink(self.dut, "c", self.dut.clk, idle.c, seed + 2)
        send_a = cocotb.start_soon(source_a.send(self._a_payloads(streams)))
        send_b = cocotb.start_soon(source_b.send(self._b_payloads(streams)))
        transfers = len(streams.a_values) + len(streams.b_values)
        budget, ends = 50 * (transfers + 100), (source_a, source_b, sink_c)
        received = await within(budget, sink_c.receive(len(streams.c_columns)),
                                "the output columns", ends)
        await within(budget, send_a, "the A stream", ends)
        await within(budget, send_b, "the B stream", ends)
        self._check_columns(received, streams.c_columns)
        await self._check_quiet()
        return GemmRun(streams, source_a.transfer_times, source_b.transfer_times,
                       sink_c.transfer_times)

    def _a_payloads(self, streams):
        return [self._a_port.pack({
                    "vector": self._vector(streams.a_values, streams.a_scales, i),
                    **self._format_fields(self._a_port, streams.a_parts[i])})
                for i in range(len(streams.a_values))]

    def _b_payloads(self, streams):
        return [self._b_port.pack({
                    "vector": self._vector(streams.b_values, streams.b_scales, i),
                    "last": int(streams.b_last[i]), "init": streams.b_init[i].tolist(),
                    **self._format_fields(self._b_port, streams.b_parts[i],
                                          streams.b_scaled[i])})
                for i in range(len(streams.b_values))]

    @staticmethod
    def _format_fields(port, part, scaled=False):
        """The transfer's `part` and `scaled`, where the port has them."""
        fields = {}
        if "part" in port.fields:
            fields["part"] = int(part)
        elif part != OperandPart.WHOLE:
            raise ValueError("nibble passes need an array that runs INT8 on 4-bit lanes")
        if "scaled" in port.fields:
            fields["scaled"] = int(scaled)
        return fields

    @staticmethod
    def _vector(values, scales, index):
        fields = {"data": values[index].tolist()}
        if scales is not None:
            fields["scale"] = int(scales[index])
        return fields

    def _check_columns(self, received, expected):
        lanes = self.config.lanes
        for index, (bits, want) in enumerate(zip(received, expected)):
            got = self._c_port.unpack(bits)
            if got != want.tolist():
                tile, column = divmod(index, lanes)
                raise AssertionError(
                    f"output column {index} (tile {tile}, column {column}) differs from "
                    f"the golden model:\n  got      {got}\n  expected {want.tolist()}")

    async def _check_quiet(self):
        """After the last expected column, the array must emit nothing more."""
        self.dut.c__ready.value = 1
        for _ in range(4 * self.config.lanes + 8):
            await ReadOnly()
            assert self.dut.c__valid.value == 0, "the array emitted an unexpected extra column"
            await FallingEdge(self.dut.clk)
        self.dut.c__ready.value = 0

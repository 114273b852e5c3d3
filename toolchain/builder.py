"""The compiler's bookkeeping: regions of the buffers (first fit, freed by name) and the
command list, each command's `wait` bit set from the hazards with the commands still in
flight; what the compiled tile comes to (`Program`)."""

import dataclasses

from vsq_accel.golden.entries import operand_entries
from vsq_accel.spec.commands import Buffer, Load, Store, buffer_size, footprint, hazard

__all__ = ["CompileError", "Region", "Program", "Builder"]


class CompileError(ValueError):
    """A tile that does not fit the configuration's buffers."""


@dataclasses.dataclass(frozen=True)
class Region:
    """rows x vectors entries of a buffer, row r's entry k at base + r * stride + k; an
    operand in `format` (the entries' own if None) of `passes` entries a vector (2 for
    INT8 in nibble passes) holds vectors / passes of them a row."""

    buffer: int
    base: int
    rows: int
    vectors: int
    stride: int
    format: str | None = None
    passes: int = 1

    @property
    def stop(self):
        return self.base + (self.rows - 1) * self.stride + self.vectors

    def at(self, row=0, vector=0):
        return self.base + row * self.stride + vector

    def sub(self, row):
        """The region from `row` on."""
        return dataclasses.replace(self, base=self.at(row), rows=self.rows - row)


@dataclasses.dataclass
class Program:
    """A compiled tile: commands, the LOADs' images in order, the regions by name, and
    the output (`output` region of OUTPUT, `columns` wide, in `unit`, sent by the
    STOREs numbered `output_stores`, in order; the last by default); `allocations` lists
    every region the program used, (name, Region), in order."""

    commands: list
    images: list
    regions: dict
    output: str
    columns: int
    unit: float
    allocations: list = dataclasses.field(default_factory=list)
    output_stores: tuple = (-1,)


class Builder:
    """Regions (first fit, freed by name) and commands (waits set from `hazard`)."""

    def __init__(self, config, bounded=True):
        self.config = config
        self.bounded = bounded
        self.commands, self.images, self.regions, self.allocations = [], [], {}, []
        self.stores = 0                  # STOREs so far
        self._free = {buffer: [(0, buffer_size(config, buffer) if bounded else 1 << 62)]
                      for buffer in Buffer}
        self._in_flight = []

    def allocate(self, name, buffer, rows, vectors, format=None):
        """A region of rows x vectors entries, or of operand vectors in `format` (two
        entries each for INT8 in nibble passes): the first free place that no command
        since the last wait touches (so the command filling it need not wait), else the
        first free place."""
        passes = self.config.entries_per_vector(format or self.config.own_format)
        vectors *= passes
        size = rows * vectors
        place = self._first_place(buffer, size)
        if place is None:
            used = buffer_size(self.config, buffer) - sum(b - a for a, b in self._free[buffer])
            raise CompileError(f"{name} ({rows} x {vectors} = {size} entries) does not fit "
                               f"{Buffer(buffer).name}: {used} of its "
                               f"{buffer_size(self.config, buffer)} entries are in use")
        index, base = place
        first, stop = self._free[buffer][index]
        self._free[buffer][index:index + 1] = [
            span for span in ((first, base), (base + size, stop)) if span[1] > span[0]]
        region = Region(buffer, base, rows, vectors, vectors, format, passes)
        self.regions[name] = region
        self.allocations.append((name, region))
        return region

    def fit_one_after_another(self, buffer, size, count):
        """Whether `count` regions of `size` entries fit, placed one after another as
        `allocate` would place them now (its choice of a place clear of the commands in
        flight can split the free space, so that half of it is not enough for two)."""
        free = list(self._free[buffer])
        try:
            for _ in range(count):
                place = self._first_place(buffer, size)
                if place is None:
                    return False
                index, base = place
                first, stop = self._free[buffer][index]
                self._free[buffer][index:index + 1] = [
                    span for span in ((first, base), (base + size, stop)) if span[1] > span[0]]
            return True
        finally:
            self._free[buffer] = free

    def _first_place(self, buffer, size):
        """Where `allocate` puts `size` entries: the first free place that no command
        since the last wait touches, else the first free place (None: nowhere)."""
        touched = [(first, stop) for command in self._in_flight
                   for where, first, stop, _ in footprint(command, self.config)
                   if where == buffer]
        return self._place(buffer, size, touched) or self._place(buffer, size, [])

    def _place(self, buffer, size, avoid):
        """(index of a free span, base) of the first `size` entries free and clear of
        the `avoid` ranges, or None."""
        for index, (first, stop) in enumerate(self._free[buffer]):
            for base in [first] + [end for _, end in avoid if first < end]:
                if base + size <= stop and not any(start < base + size and base < end
                                                   for start, end in avoid):
                    return index, base
        return None

    def largest_free(self, buffer):
        """Entries of the largest free span of a buffer."""
        return max((stop - first for first, stop in self._free[buffer]), default=0)

    def free(self, *names):
        for name in names:
            region = self.regions.pop(name)
            size = region.rows * region.vectors
            spans = sorted(self._free[region.buffer] + [(region.base, region.base + size)])
            merged = [spans[0]]
            for first, stop in spans[1:]:
                if first == merged[-1][1]:
                    merged[-1] = (merged[-1][0], stop)
                else:
                    merged.append((first, stop))
            self._free[region.buffer] = merged

    def emit(self, command):
        if hazard(command, self._in_flight, self.config) is not None:
            command = dataclasses.replace(command, wait=1)
            self._in_flight = []
        self._in_flight.append(command)
        self.commands.append(command)

    def load(self, name, buffer, rows, vectors, image, format=None, trace=None):
        """A region filled from the host (`image`: a LOAD's image or a function of what
        the STOREs sent so far); `trace`: the tensor's names and first row, for an
        operand the interpreter records (`toolchain.interpreter`)."""
        region = self.allocate(name, buffer, rows, vectors, format)
        self.images.append(image)
        self.emit(Load(buffer=buffer, base=region.base, count=rows * region.vectors,
                       trace={"op": "load", **(trace or {})}))
        return region

    def load_operand(self, name, buffer, operand, format=None, trace=None):
        """An operand (its `vectors` and `scales`) in `format`, the entries' own if None
        (`golden.entries`)."""
        format = self.config.own_format if format is None else format
        rows, vectors = operand.vectors.shape[:2]
        image = operand_entries(operand.vectors.reshape(rows, -1), operand.scales,
                                self.config, format)
        return self.load(name, buffer, rows, vectors, image, format, trace)

    def load_params(self, name, scaling):
        image = {"mult": scaling.mult, "shift": scaling.shift, "bias": scaling.bias}
        return self.load(name, Buffer.PARAMS, len(scaling.mult), 1, image)

    def store(self, region):
        """STOREs a region to the host; returns the STORE's number in the program."""
        self.emit(Store(buffer=region.buffer, base=region.base,
                        count=region.rows * region.vectors, trace={"op": "store"}))
        self.stores += 1
        return self.stores - 1

"""Amaranth layouts of the payloads described in `spec.ports`."""

from amaranth import signed, unsigned
from amaranth.lib import data

from vsq_accel.spec import ports

__all__ = ["layout"]


def layout(description):
    """The Amaranth shape of a `spec.ports` description: a StructLayout, an ArrayLayout
    or a signed or unsigned shape."""
    if isinstance(description, ports.Struct):
        return data.StructLayout({name: layout(field)
                                  for name, field in description.fields.items()})
    if isinstance(description, ports.Array):
        return data.ArrayLayout(layout(description.element), description.length)
    return signed(description.width) if description.signed else unsigned(description.width)

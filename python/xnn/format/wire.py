"""Protocol buffers wire-format encoding: just what the .xnn writer needs (docs/FORMAT.md), no protobuf
package at run time."""

from __future__ import annotations

from typing import Iterable

import numpy as np

VARINT, LEN = 0, 2


def varint(value: int) -> bytes:
    """Base-128 varint; negative values as 64-bit two's complement (10 bytes), as protobuf's int64."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def key(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def uint_field(number: int, value: int) -> bytes:
    """A varint field; proto3 leaves zeros out."""
    return key(number, VARINT) + varint(int(value)) if value else b""


def bytes_field(number: int, data: bytes) -> bytes:
    return key(number, LEN) + varint(len(data)) + bytes(data)


def string_field(number: int, text: str) -> bytes:
    return bytes_field(number, text.encode("utf-8")) if text else b""


def packed_ints(number: int, values: Iterable[int]) -> bytes:
    data = b"".join(varint(int(v)) for v in values)
    return bytes_field(number, data) if data else b""


def packed_floats(number: int, values: Iterable[float]) -> bytes:
    data = np.asarray(list(values), dtype="<f4").tobytes()
    return bytes_field(number, data) if data else b""

"""Symbol coding of the .xnn format (docs/FORMAT.md, "Bit streams" and "Sparse positions"): bit-packed and
canonical Huffman symbol streams, sparse positions as gap symbols.

The encoders are vectorized with numpy so that weight tensors of millions of symbols encode in about a
second. The decoders exist to test the encoders; the reader of record is the C core
(csrc/readers/xnn_coding.c), which applies the same checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "MAX_CODE_LENGTH",
    "Stream",
    "pack_bits",
    "huffman_lengths",
    "canonical_codes",
    "huffman_encode",
    "pack_lengths",
    "unpack_lengths",
    "encode_stream",
    "decode_stream",
    "gap_symbols",
    "encode_gaps",
    "decode_gaps",
]

#: Longest Huffman code: code lengths are stored as nibbles.
MAX_CODE_LENGTH = 15

# Symbols per step of the bit-matrix encoders: bounds their temporaries to a few tens of MB.
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Stream:
    """A ``Stream`` message: ``count`` symbols of ``bits`` bits, either ``packed`` or Huffman-coded
    (``code_lengths`` and ``huffman``). ``None`` and empty bytes both mean an absent field."""

    count: int
    bits: int
    packed: Optional[bytes] = None
    code_lengths: Optional[bytes] = None
    huffman: Optional[bytes] = None

    @property
    def encoded_size(self) -> int:
        """Bytes of the payload fields (packed, code_lengths, huffman), without protobuf framing."""
        return sum(len(f) for f in (self.packed, self.code_lengths, self.huffman) if f is not None)


def _check_bits(bits: int) -> None:
    if not 1 <= bits <= 16:
        raise ValueError(f"bits must be 1 to 16, got {bits}")


def _symbols(symbols: ArrayLike, bits: int) -> NDArray[np.uint16]:
    """``symbols`` as a flat uint16 array, checked against the alphabet of ``bits`` bits."""
    _check_bits(bits)
    a = np.asarray(symbols)
    if a.dtype.kind not in "ui" and not (a.dtype.kind in "fb" and a.size == 0):
        raise TypeError(f"symbols must be integers, got {a.dtype}")
    a = a.reshape(-1)
    if a.size and (int(a.min()) < 0 or int(a.max()) >= 1 << bits):
        raise ValueError(f"symbols outside 0 .. {(1 << bits) - 1}")
    return a.astype(np.uint16, copy=False)


def _bit_matrix(values: NDArray[np.uint16], width: int) -> NDArray[np.uint8]:
    """Bits 0 .. width-1 of each value, least significant first, one row per value."""
    if width <= 8:
        raw = values.astype(np.uint8).reshape(-1, 1)
    else:
        raw = values.astype("<u2").view(np.uint8).reshape(-1, 2)
    return np.unpackbits(raw, axis=1, bitorder="little")[:, :width]


def pack_bits(symbols: ArrayLike, bits: int) -> bytes:
    """``symbols`` as ``bits``-bit fields, least significant bit first, in exactly
    ``ceil(count * bits / 8)`` bytes (the ``packed`` form)."""
    a = _symbols(symbols, bits)
    # Chunks of a multiple of 8 symbols end on a byte boundary, so they pack independently.
    return b"".join(np.packbits(_bit_matrix(a[i:i + _CHUNK], bits).reshape(-1), bitorder="little").tobytes()
                    for i in range(0, a.size, _CHUNK))


def huffman_lengths(counts: ArrayLike, max_length: int = MAX_CODE_LENGTH) -> NDArray[np.uint8]:
    """Code lengths of an optimal prefix code with no code longer than ``max_length`` for symbols seen
    ``counts`` times (package-merge). Unused symbols get 0, a single used symbol gets 1; with two or more
    used symbols the code is complete (Kraft sum 1)."""
    c = np.asarray(counts)
    if c.ndim != 1 or (c.size and c.dtype.kind not in "ui"):
        raise TypeError("counts must be a 1-D integer array")
    if c.size and int(c.min()) < 0:
        raise ValueError("negative count")
    lengths = np.zeros(c.size, np.uint8)
    used = np.flatnonzero(c)
    n = used.size
    if n <= 1:
        lengths[used] = 1
        return lengths
    if max_length < 1 or n > 1 << max_length:
        raise ValueError(f"{n} symbols do not fit in codes of at most {max_length} bits")
    order = used[np.argsort(c[used], kind="stable")]
    leaves = c[order].astype(np.int64)
    # Package-merge (Larmore and Hirschberg): the list of level l merges the leaves with pairs ("packages")
    # of the list of level l + 1, by weight. Each list has fewer than 2n items. Only which items are leaves
    # is kept: the leaves of a list appear in weight order, so the first m items of a list hold a prefix
    # of the sorted leaves and packages built from the first items of the next level's list.
    is_leaf = [np.ones(n, bool)]
    items = leaves
    for _ in range(max_length - 1):
        k = items.size // 2
        merged = np.concatenate([leaves, items[0:2 * k:2] + items[1:2 * k:2]])
        idx = np.argsort(merged, kind="stable")
        items = merged[idx]
        is_leaf.append(idx < n)
    # The 2n - 2 lightest items of the top list form the code: a leaf taken at k levels has length k.
    sorted_lengths = np.zeros(n, np.int64)
    m = 2 * n - 2
    for flags in reversed(is_leaf):
        taken = int(np.count_nonzero(flags[:m]))
        sorted_lengths[:taken] += 1
        m = 2 * (m - taken)
    lengths[order] = sorted_lengths
    return lengths


def _check_lengths(lengths: ArrayLike) -> NDArray[np.int64]:
    a = np.asarray(lengths).reshape(-1).astype(np.int64)
    if a.size and (int(a.min()) < 0 or int(a.max()) > MAX_CODE_LENGTH):
        raise ValueError(f"code lengths must be 0 to {MAX_CODE_LENGTH}")
    used = a[a > 0]
    if int(np.sum(np.left_shift(1, MAX_CODE_LENGTH - used))) > 1 << MAX_CODE_LENGTH:
        raise ValueError("code lengths are over-subscribed (Kraft sum above 1)")
    return a


def canonical_codes(lengths: ArrayLike) -> NDArray[np.uint32]:
    """Canonical code of each symbol (DEFLATE's rule: codes in (length, symbol) order, each the previous
    one plus one, shifted left when the length grows); 0 for symbols of length 0."""
    a = _check_lengths(lengths)
    bl_count = np.bincount(a, minlength=MAX_CODE_LENGTH + 1)
    bl_count[0] = 0
    first = np.zeros(MAX_CODE_LENGTH + 1, np.int64)
    code = 0
    for length in range(1, MAX_CODE_LENGTH + 1):
        code = (code + int(bl_count[length - 1])) << 1
        first[length] = code
    order = np.lexsort((np.arange(a.size), a))
    order = order[a[order] > 0]
    sorted_lengths = a[order]
    # Rank of each symbol among those of its length: its place in `order` minus its group's start.
    group_start = np.searchsorted(sorted_lengths, sorted_lengths, side="left")
    codes = np.zeros(a.size, np.uint32)
    codes[order] = (first[sorted_lengths] + np.arange(order.size) - group_start).astype(np.uint32)
    return codes


def huffman_encode(symbols: ArrayLike, lengths: ArrayLike) -> bytes:
    """``symbols`` coded with the canonical code of ``lengths``: each code most significant bit first into
    the stream's least-significant-bit-first bytes, the last byte padded with zeros (the ``huffman`` form)."""
    a = np.asarray(symbols).reshape(-1)
    if a.size == 0:
        return b""
    lens = _check_lengths(lengths)
    if a.dtype.kind not in "ui" or int(a.min()) < 0 or int(a.max()) >= lens.size:
        raise ValueError("symbols outside the code's alphabet")
    codes = canonical_codes(lens).astype(np.int64)
    # Writing a code most significant bit first into a least-significant-first stream is writing its bit
    # reversal least significant bit first.
    rev = np.zeros(lens.size, np.int64)
    for k in range(MAX_CODE_LENGTH):
        rev |= np.where(k < lens, ((codes >> k) & 1) << np.maximum(lens - 1 - k, 0), 0)
    sym_len = lens.astype(np.uint8)[a]
    if not sym_len.all():
        raise ValueError("a symbol has no code (length 0)")
    sym_rev = rev.astype(np.uint16)[a]
    width = int(sym_len.max())
    column = np.arange(width, dtype=np.uint8)
    chunks = [_bit_matrix(sym_rev[i:i + _CHUNK], width)[column < sym_len[i:i + _CHUNK, None]]
              for i in range(0, a.size, _CHUNK)]
    return np.packbits(np.concatenate(chunks), bitorder="little").tobytes()


def pack_lengths(lengths: ArrayLike) -> bytes:
    """Code lengths as nibbles, symbol 2i in the low nibble of byte i and 2i+1 in the high one, trailing zero
    lengths dropped (the ``code_lengths`` form)."""
    a = _check_lengths(lengths)
    nonzero = np.flatnonzero(a)
    if nonzero.size == 0:
        return b""
    n = int(nonzero[-1]) + 1
    nibbles = np.zeros(n + (n & 1), np.uint8)
    nibbles[:n] = a[:n]
    return (nibbles[0::2] | (nibbles[1::2] << 4)).tobytes()


def unpack_lengths(code_lengths: bytes) -> NDArray[np.uint8]:
    """The inverse of :func:`pack_lengths`: one length per symbol, ``2 * len(code_lengths)`` of them."""
    b = np.frombuffer(code_lengths, np.uint8)
    return np.stack([b & 15, b >> 4], axis=1).reshape(-1)


def _huffman_size(counts: NDArray[np.int64]) -> Tuple[NDArray[np.uint8], int]:
    """Optimal code lengths for `counts` and the bytes of code_lengths plus huffman they take; no lengths and
    an infinite size when more symbols are used than codes of at most 15 bits can tell apart."""
    if np.count_nonzero(counts) > 1 << MAX_CODE_LENGTH:
        return np.zeros(0, np.uint8), np.iinfo(np.int64).max
    lengths = huffman_lengths(counts)
    coded_bits = int(np.dot(counts.astype(np.int64), lengths.astype(np.int64)))
    return lengths, len(pack_lengths(lengths)) + (coded_bits + 7) // 8


def encode_stream(symbols: ArrayLike, bits: int) -> Stream:
    """``symbols`` (each below ``2**bits``) as a :class:`Stream`, packed or Huffman-coded, whichever takes
    fewer bytes counting the code-length table (packed when equal, and always when more than 2**15 distinct
    symbols occur)."""
    a = _symbols(symbols, bits)
    packed_size = (a.size * bits + 7) // 8
    if a.size == 0:
        return Stream(0, bits, packed=b"")
    lengths, huffman_size = _huffman_size(np.bincount(a, minlength=1 << bits))
    if huffman_size < packed_size:
        return Stream(int(a.size), bits, code_lengths=pack_lengths(lengths), huffman=huffman_encode(a, lengths))
    return Stream(int(a.size), bits, packed=pack_bits(a, bits))


def _bits_of(data: Optional[bytes]) -> NDArray[np.uint8]:
    return np.unpackbits(np.frombuffer(data or b"", np.uint8), bitorder="little")


def decode_stream(stream: Stream) -> NDArray[np.uint16]:
    """The symbols of ``stream``, with the checks of the C reader; ValueError if it is malformed."""
    _check_bits(stream.bits)
    count, bits = stream.count, stream.bits
    packed, code_lengths, huffman = (f or b"" for f in (stream.packed, stream.code_lengths, stream.huffman))
    if count < 0:
        raise ValueError("negative count")
    if count == 0:
        if packed or code_lengths or huffman:
            raise ValueError("stream of 0 symbols has data")
        return np.zeros(0, np.uint16)
    if packed and (code_lengths or huffman):
        raise ValueError("stream is both packed and Huffman-coded")
    if packed:
        if len(packed) != (count * bits + 7) // 8:
            raise ValueError(f"packed stream has {len(packed)} bytes, {(count * bits + 7) // 8} expected")
        stream_bits = _bits_of(packed)
        if stream_bits[count * bits:].any():
            raise ValueError("nonzero padding bits after the last packed symbol")
        fields = stream_bits[:count * bits].reshape(count, bits).astype(np.uint32)
        return (fields << np.arange(bits, dtype=np.uint32)).sum(axis=1).astype(np.uint16)
    if not code_lengths:
        raise ValueError("stream has no code lengths")
    return _decode_huffman(count, bits, code_lengths, huffman)


def _decode_huffman(count: int, bits: int, code_lengths: bytes, data: bytes) -> NDArray[np.uint16]:
    lengths = unpack_lengths(code_lengths).astype(np.int64)
    if lengths.size > 1 << bits:
        raise ValueError(f"code lengths for {lengths.size} symbols, the alphabet has {1 << bits}")
    used = np.flatnonzero(lengths)
    kraft = int(np.sum(np.left_shift(1, MAX_CODE_LENGTH - lengths[used])))
    if used.size == 0:
        raise ValueError("code lengths have no symbol")
    if kraft > 1 << MAX_CODE_LENGTH:
        raise ValueError("code lengths are over-subscribed")
    if kraft < 1 << MAX_CODE_LENGTH and not (used.size == 1 and lengths[used[0]] == 1):
        raise ValueError("code lengths are not a complete code")
    codes = canonical_codes(lengths)
    width = int(lengths.max())
    # Every stream position's next `width` bits, read as a code (most significant bit first), looked up in a
    # table of all codes padded to `width` bits: a symbol and its length for each position.
    table_symbol = np.zeros(1 << width, np.int64)
    table_length = np.zeros(1 << width, np.int64)
    for s in used:
        start = int(codes[s]) << (width - int(lengths[s]))
        table_symbol[start:start + (1 << (width - int(lengths[s])))] = s
        table_length[start:start + (1 << (width - int(lengths[s])))] = lengths[s]
    stream_bits = _bits_of(data)
    total = stream_bits.size
    padded = np.concatenate([stream_bits, np.zeros(width, np.uint8)]).astype(np.int64)
    window = np.zeros(total, np.int64)
    for k in range(width):
        window = (window << 1) | padded[k:k + total]
    symbol_at, length_at = table_symbol[window].tolist(), table_length[window].tolist()
    out = [0] * count
    pos = 0
    for i in range(count):
        if pos >= total:
            raise ValueError(f"Huffman data ends in symbol {i} of {count}")
        length = length_at[pos]
        if length == 0:
            raise ValueError(f"unassigned Huffman code at symbol {i}")
        if pos + length > total:
            raise ValueError(f"Huffman data ends in symbol {i} of {count}")
        out[i] = symbol_at[pos]
        pos += length
    if len(data) != (pos + 7) // 8:
        raise ValueError(f"Huffman data has {len(data)} bytes, {(pos + 7) // 8} expected")
    if stream_bits[pos:].any():
        raise ValueError("nonzero padding bits after the last Huffman code")
    return np.array(out, np.uint16)


def _gaps(positions: ArrayLike) -> NDArray[np.int64]:
    """Zeros skipped before each position: position minus the previous one minus 1 (the first: itself)."""
    p = np.asarray(positions)
    if p.ndim != 1 or (p.size and p.dtype.kind not in "ui"):
        raise TypeError("positions must be a 1-D integer array")
    gaps = (np.diff(p.astype(np.int64), prepend=np.int64(-1)) - 1).astype(np.int64, copy=False)
    if gaps.size and int(gaps.min()) < 0:
        raise ValueError("positions must be non-negative and strictly increasing")
    return gaps


def gap_symbols(positions: ArrayLike, bits: int) -> NDArray[np.uint16]:
    """The gap symbols of sorted flat ``positions`` with symbols of ``bits`` bits: a gap g is
    ``g // E`` escape symbols ``E = 2**bits - 1`` (each skipping E positions) and then ``g % E``."""
    _check_bits(bits)
    escape = (1 << bits) - 1
    escapes, rest = np.divmod(_gaps(positions), escape)
    ends = np.cumsum(escapes + 1)
    out = np.full(int(ends[-1]) if ends.size else 0, escape, np.uint16)
    out[ends - 1] = rest
    return out


def encode_gaps(positions: ArrayLike, numel: int) -> Stream:
    """Sorted flat ``positions`` (each below ``numel``) as the smallest gap stream over symbol widths
    1 to 16 (the narrowest among equal sizes)."""
    gaps = _gaps(positions)
    if gaps.size and int(np.asarray(positions)[-1]) >= numel:
        raise ValueError(f"position {int(np.asarray(positions)[-1])} is not below the element count {numel}")
    best: Optional[Tuple[int, int]] = None
    for bits in range(1, 17):
        escape = (1 << bits) - 1
        escapes, rest = np.divmod(gaps, escape)
        num_escapes = int(escapes.sum())
        count = gaps.size + num_escapes
        # Sizes from the symbol histogram alone: only the chosen width is materialized and coded.
        size = (count * bits + 7) // 8
        if count:
            counts = np.bincount(rest, minlength=1 << bits)
            counts[escape] += num_escapes
            size = min(size, _huffman_size(counts)[1])
        if best is None or size < best[0]:
            best = (size, bits)
    assert best is not None
    return encode_stream(gap_symbols(positions, best[1]), best[1])


def decode_gaps(symbols: ArrayLike, bits: int, nnz: int, numel: int) -> NDArray[np.int64]:
    """The ``nnz`` positions stored by gap ``symbols`` of ``bits`` bits, with the checks of the C reader;
    ValueError if the symbols store another number of values or a position not below ``numel``."""
    a = _symbols(symbols, bits)
    escape = (1 << bits) - 1
    skip = np.where(a == escape, escape, a.astype(np.int64) + 1)
    ends = np.cumsum(skip)
    stores = a != escape
    positions = ends[stores] - 1
    if positions.size != nnz:
        raise ValueError(f"gaps store {positions.size} values, {nnz} expected")
    if ends.size and int(ends[-1]) > numel:
        raise ValueError(f"gaps run past the element count {numel}")
    return positions

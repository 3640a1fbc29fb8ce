"""Symbol coding of the .xnn format (docs/FORMAT.md): the Python encoders of xnn.format.coding against the C
decoders of csrc/readers/xnn_coding.c (through xnn._xnn.testing) and against the Python decoders; optimality
of the Huffman code lengths; CRC-32 against zlib; float16 against numpy; hostile streams, each of which the C
reader must reject with ModelFormatError."""

from __future__ import annotations

import heapq
import itertools
import zlib
from typing import List, Optional

import numpy as np
import pytest

from xnn import _xnn
from xnn.errors import ModelFormatError
from xnn.format import coding
from xnn.format.coding import (
    Stream,
    canonical_codes,
    decode_gaps,
    decode_stream,
    encode_gaps,
    encode_stream,
    gap_symbols,
    huffman_encode,
    huffman_lengths,
    pack_bits,
    pack_lengths,
    unpack_lengths,
)

T = _xnn.testing


def c_decode(s: Stream) -> np.ndarray:
    return T.decode_stream(s.count, s.bits, s.packed, s.code_lengths, s.huffman)


def both_decode(s: Stream) -> np.ndarray:
    """Decodes with C and Python, which must agree."""
    c = c_decode(s)
    p = decode_stream(s)
    assert c.dtype == np.uint16
    np.testing.assert_array_equal(c, p)
    return c


def kraft(lengths: np.ndarray) -> float:
    used = lengths[lengths > 0].astype(np.int64)
    return float(np.sum(2.0 ** -used))


def textbook_huffman(counts: np.ndarray) -> np.ndarray:
    """Unlimited Huffman code lengths (merge the two lightest subtrees until one is left)."""
    lengths = np.zeros(len(counts), np.int64)
    heap = [(int(c), i, [i]) for i, c in enumerate(counts) if c > 0]
    if len(heap) == 1:
        lengths[heap[0][2]] = 1
    heapq.heapify(heap)
    tie = len(counts)
    while len(heap) > 1:
        w1, _, s1 = heapq.heappop(heap)
        w2, _, s2 = heapq.heappop(heap)
        lengths[s1 + s2] += 1
        heapq.heappush(heap, (w1 + w2, tie, s1 + s2))
        tie += 1
    return lengths


def cost(counts: np.ndarray, lengths: np.ndarray) -> int:
    return int(np.dot(np.asarray(counts, np.int64), np.asarray(lengths, np.int64)))


def naive_bits(values: List[int], widths: List[int], msb_first: bool) -> bytes:
    """A bit-at-a-time writer, the format's definition read literally."""
    bits: List[int] = []
    for v, w in zip(values, widths):
        order = range(w - 1, -1, -1) if msb_first else range(w)
        bits += [(v >> k) & 1 for k in order]
    out = bytearray((len(bits) + 7) // 8)
    for i, b in enumerate(bits):
        out[i // 8] |= b << (i % 8)
    return bytes(out)


def distribution(kind: str, n: int, bits: int, rng: np.random.Generator) -> np.ndarray:
    top = (1 << bits) - 1
    if kind == "uniform":
        return rng.integers(0, top + 1, n)
    if kind == "geometric":
        return np.minimum(rng.geometric(0.3, n) - 1, top)
    if kind == "skewed":  # a few common symbols anywhere in the alphabet, the rest rare
        common = rng.integers(0, top + 1, 3)
        return np.where(rng.random(n) < 0.9, common[rng.integers(0, 3, n)], rng.integers(0, top + 1, n))
    if kind == "single":
        return np.full(n, rng.integers(0, top + 1))
    if kind == "two":
        return rng.choice(np.array([0, top]), n, p=[0.8, 0.2])
    raise AssertionError(kind)


# ------------------------------------------------------------------------------------------ packed

@pytest.mark.parametrize("bits", range(1, 17))
def test_pack_bits(bits: int) -> None:
    rng = np.random.default_rng(bits)
    for count in [0, 1, 2, 3, 7, 8, 9, 15, 17, 1001]:
        s = rng.integers(0, 1 << bits, count)
        data = pack_bits(s, bits)
        assert len(data) == (count * bits + 7) // 8
        assert data == naive_bits(s.tolist(), [bits] * count, msb_first=False)
        stream = Stream(count, bits, packed=data)
        np.testing.assert_array_equal(both_decode(stream), s)


def test_pack_bits_large_chunks() -> None:
    # More symbols than one encoder chunk, and a count that ends mid-byte.
    rng = np.random.default_rng(1)
    s = rng.integers(0, 1 << 11, (1 << 20) + 13)
    data = pack_bits(s, 11)
    assert len(data) == (s.size * 11 + 7) // 8
    np.testing.assert_array_equal(c_decode(Stream(s.size, 11, packed=data)), s)


def test_pack_bits_rejects() -> None:
    with pytest.raises(ValueError):
        pack_bits([4], 2)
    with pytest.raises(ValueError):
        pack_bits([-1], 3)
    with pytest.raises(ValueError):
        pack_bits([0], 17)


# ------------------------------------------------------------------------------------------ Huffman code

def test_canonical_codes_rfc1951_example() -> None:
    # RFC 1951 section 3.2.2: lengths (3, 3, 3, 3, 3, 2, 4, 4) give codes 010 011 100 101 110 00 1110 1111.
    np.testing.assert_array_equal(canonical_codes([3, 3, 3, 3, 3, 2, 4, 4]),
                                  [0b010, 0b011, 0b100, 0b101, 0b110, 0b00, 0b1110, 0b1111])
    # F A H C: 00 010 1111 100, bits in stream order 0 0 0 1 0 1 1 1 | 1 1 0 0 -> 0xe8 0x03.
    assert huffman_encode(np.array([5, 0, 7, 2]), [3, 3, 3, 3, 3, 2, 4, 4]) == bytes([0xE8, 0x03])
    assert pack_lengths([3, 3, 3, 3, 3, 2, 4, 4]) == bytes([0x33, 0x33, 0x23, 0x44])


def test_canonical_codes_prefix_free() -> None:
    rng = np.random.default_rng(2)
    for _ in range(50):
        counts = rng.integers(0, 50, int(rng.integers(2, 40)))
        counts[:2] += 1
        lengths = huffman_lengths(counts)
        codes = canonical_codes(lengths)
        words = sorted(format(int(c), f"0{int(n)}b") for c, n in zip(codes, lengths) if n)
        for a, b in zip(words, words[1:]):
            assert not b.startswith(a)


def test_huffman_encode_matches_naive_writer() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        bits = int(rng.integers(1, 9))
        s = distribution("geometric", int(rng.integers(1, 300)), bits, rng)
        lengths = huffman_lengths(np.bincount(s, minlength=1 << bits))
        codes = canonical_codes(lengths)
        expected = naive_bits([int(codes[v]) for v in s], [int(lengths[v]) for v in s], msb_first=True)
        assert huffman_encode(s, lengths) == expected


def test_huffman_lengths_edge_cases() -> None:
    np.testing.assert_array_equal(huffman_lengths(np.zeros(5, np.int64)), [0] * 5)
    np.testing.assert_array_equal(huffman_lengths(np.array([0, 0, 7, 0])), [0, 0, 1, 0])
    np.testing.assert_array_equal(huffman_lengths(np.array([3, 0, 1000])), [1, 0, 1])
    np.testing.assert_array_equal(huffman_lengths(np.array([], np.int64)), [])
    with pytest.raises(ValueError):
        huffman_lengths(np.ones(9, np.int64), max_length=3)
    np.testing.assert_array_equal(huffman_lengths(np.ones(8, np.int64), max_length=3), [3] * 8)


def test_huffman_lengths_optimal() -> None:
    """Equal to unlimited Huffman's cost whenever that stays within 15 bits; always complete, never above 15."""
    rng = np.random.default_rng(4)
    compared = 0
    for trial in range(300):
        n = int(rng.integers(2, 300))
        kind = trial % 3
        if kind == 0:
            counts = rng.integers(0, 1000, n)
        elif kind == 1:
            counts = (rng.pareto(1.0, n) * 10).astype(np.int64)
        else:
            counts = np.floor(2.0 ** rng.uniform(0, 30, n)).astype(np.int64)
        if np.count_nonzero(counts) < 2:
            counts[:2] += 1
        lengths = huffman_lengths(counts)
        assert lengths.max() <= 15
        assert np.all((lengths > 0) == (counts > 0))
        assert kraft(lengths) == 1.0
        reference = textbook_huffman(counts)
        if reference.max() <= 15:
            assert cost(counts, lengths) == cost(counts, reference)
            compared += 1
        else:
            assert cost(counts, lengths) >= cost(counts, reference)
    assert compared > 150


def test_huffman_lengths_limited_optimal_by_brute_force() -> None:
    """With small limits, the cost is the minimum over every length assignment obeying Kraft."""
    rng = np.random.default_rng(5)
    for _ in range(60):
        n = int(rng.integers(2, 7))
        limit = int(rng.integers(int(np.ceil(np.log2(n))), 5))
        counts = np.floor(2.0 ** rng.uniform(0, 12, n)).astype(np.int64) + 1
        best = min(cost(counts, ls) for ls in itertools.product(range(1, limit + 1), repeat=n)
                   if sum(2.0 ** -x for x in ls) <= 1.0)
        lengths = huffman_lengths(counts, max_length=limit)
        assert lengths.max() <= limit
        assert cost(counts, lengths) == best


def test_huffman_lengths_fibonacci_limited() -> None:
    """Fibonacci weights make unlimited Huffman codes as deep as the alphabet; the limit must hold at the
    least possible cost increase."""
    fib = [1, 1]
    while len(fib) < 30:
        fib.append(fib[-1] + fib[-2])
    counts = np.array(fib, np.int64)
    reference = textbook_huffman(counts)
    assert reference.max() > 15
    lengths = huffman_lengths(counts)
    assert lengths.max() == 15
    assert kraft(lengths) == 1.0
    assert cost(counts, lengths) >= cost(counts, reference)
    # Round trip through both decoders, with the longest codes in use.
    symbols = np.repeat(np.arange(30), np.minimum(counts, 50))
    np.random.default_rng(6).shuffle(symbols)
    stream = Stream(symbols.size, 5, code_lengths=pack_lengths(lengths), huffman=huffman_encode(symbols, lengths))
    np.testing.assert_array_equal(both_decode(stream), symbols)


def test_pack_lengths_trailing_zeros() -> None:
    assert pack_lengths([0, 0, 0]) == b""
    assert pack_lengths([1, 1, 0, 0, 0]) == b"\x11"
    assert pack_lengths([1, 2, 2, 0, 0]) == b"\x21\x02"
    np.testing.assert_array_equal(unpack_lengths(b"\x21\x02"), [1, 2, 2, 0])
    with pytest.raises(ValueError):
        pack_lengths([16, 1])


# ------------------------------------------------------------------------------------------ streams

@pytest.mark.parametrize("bits", range(1, 17))
@pytest.mark.parametrize("kind", ["uniform", "geometric", "skewed", "single", "two"])
def test_encode_stream_round_trip(bits: int, kind: str) -> None:
    rng = np.random.default_rng(bits * 10 + len(kind))
    for count in [1, 5, 8, 13, 2000]:
        s = distribution(kind, count, bits, rng)
        stream = encode_stream(s, bits)
        assert stream.count == count and stream.bits == bits
        assert (stream.packed is None) != (stream.huffman is None)
        packed_size = (count * bits + 7) // 8
        assert stream.encoded_size <= packed_size
        if stream.huffman is not None:
            lengths = huffman_lengths(np.bincount(s, minlength=1 << bits))
            assert stream.encoded_size == len(pack_lengths(lengths)) + (cost(np.bincount(s, minlength=1 << bits),
                                                                             lengths) + 7) // 8
        np.testing.assert_array_equal(both_decode(stream), s)


def test_encode_stream_prefers_huffman_when_smaller() -> None:
    s = np.zeros(1000, np.int64)
    s[::100] = 200
    stream = encode_stream(s, 8)
    assert stream.packed is None
    assert stream.encoded_size == 101 + 125  # lengths of symbols 0..200, 1000 one-bit codes
    np.testing.assert_array_equal(both_decode(stream), s)


@pytest.mark.parametrize("bits", [1, 5, 16])
def test_empty_stream(bits: int) -> None:
    stream = encode_stream(np.zeros(0, np.int64), bits)
    assert stream.count == 0 and stream.encoded_size == 0
    assert both_decode(stream).size == 0
    assert T.decode_stream(0, bits, None, None, None).size == 0


def test_16_bit_alphabet() -> None:
    rng = np.random.default_rng(7)
    # Every symbol of the alphabet: no code of at most 15 bits has 2^16 words, so the stream is packed however
    # skewed it is.
    s = np.concatenate([rng.permutation(1 << 16), np.zeros(100_000, np.int64)])
    stream = encode_stream(s, 16)
    assert stream.packed is not None
    np.testing.assert_array_equal(both_decode(stream), s)
    with pytest.raises(ValueError):
        huffman_lengths(np.ones(1 << 16, np.int64))
    reject(1, 16, None, b"\xff" * (1 << 15), b"\x00\x00", "over-subscribed")
    # 2^15 symbols in use: every code has 15 bits.
    used = np.sort(rng.choice(1 << 16, 1 << 15, replace=False))
    counts = np.zeros(1 << 16, np.int64)
    counts[used] = rng.integers(1, 100, used.size)
    lengths = huffman_lengths(counts)
    assert set(lengths[used].tolist()) == {15} and kraft(lengths) == 1.0
    s = rng.permutation(used)
    stream = Stream(s.size, 16, code_lengths=pack_lengths(lengths), huffman=huffman_encode(s, lengths))
    np.testing.assert_array_equal(both_decode(stream), s)
    # Symbols spread over the alphabet, a few very common: codes from 1 to 15 bits.
    s = np.concatenate([rng.choice(1 << 16, 10_000, replace=False), np.zeros(200_000, np.int64),
                        rng.integers(0, 64, 50_000)])
    rng.shuffle(s)
    stream = encode_stream(s, 16)
    assert stream.huffman is not None
    lengths = unpack_lengths(stream.code_lengths)
    assert lengths[lengths > 0].min() == 1 and lengths.max() == 15
    np.testing.assert_array_equal(both_decode(stream), s)


def test_large_stream_round_trip() -> None:
    """Millions of symbols (several encoder chunks), both forms."""
    rng = np.random.default_rng(8)
    s = np.minimum(rng.geometric(0.25, 2_500_001) - 1, 31)
    stream = encode_stream(s, 5)
    assert stream.huffman is not None
    np.testing.assert_array_equal(c_decode(stream), s)
    packed = Stream(s.size, 5, packed=pack_bits(s, 5))
    np.testing.assert_array_equal(c_decode(packed), s)


# ------------------------------------------------------------------------------------------ gaps

def check_gaps(positions: np.ndarray, numel: int) -> Stream:
    stream = encode_gaps(positions, numel)
    symbols = both_decode(stream)
    got_c = T.decode_gaps(symbols, stream.bits, positions.size, numel)
    assert got_c.dtype == np.uint64
    np.testing.assert_array_equal(got_c, positions)
    np.testing.assert_array_equal(decode_gaps(symbols, stream.bits, positions.size, numel), positions)
    # No width makes a smaller stream.
    for bits in range(1, 17):
        assert encode_stream(gap_symbols(positions, bits), bits).encoded_size >= stream.encoded_size
    return stream


def test_gap_symbols_definition() -> None:
    # E = 3: gaps 0, 3 (one escape then 0), 7 (two escapes then 1).
    np.testing.assert_array_equal(gap_symbols(np.array([0, 4, 12]), 2), [0, 3, 0, 3, 3, 1])
    np.testing.assert_array_equal(gap_symbols(np.array([2]), 1), [1, 1, 0])
    assert gap_symbols(np.array([], np.int64), 4).size == 0
    with pytest.raises(ValueError):
        gap_symbols(np.array([3, 3]), 4)
    with pytest.raises(ValueError):
        gap_symbols(np.array([-1]), 4)


@pytest.mark.parametrize("bits", range(1, 17))
def test_gaps_every_width(bits: int) -> None:
    rng = np.random.default_rng(100 + bits)
    numel = 5000
    positions = np.sort(rng.choice(numel, 300, replace=False))
    positions[0], positions[-1] = 0, numel - 1
    positions = np.unique(positions)
    symbols = gap_symbols(positions, bits)
    assert np.count_nonzero(symbols != (1 << bits) - 1) == positions.size
    stream = encode_stream(symbols, bits)
    np.testing.assert_array_equal(both_decode(stream), symbols)
    np.testing.assert_array_equal(T.decode_gaps(symbols, bits, positions.size, numel), positions)
    np.testing.assert_array_equal(decode_gaps(symbols, bits, positions.size, numel), positions)


@pytest.mark.parametrize("density", [0.001, 0.05, 0.3, 0.9])
def test_encode_gaps_random(density: float) -> None:
    rng = np.random.default_rng(int(density * 1000))
    numel = 100_000
    positions = np.flatnonzero(rng.random(numel) < density)
    check_gaps(positions, numel)


def test_encode_gaps_edges() -> None:
    numel = 1 << 20
    # Huge runs: escapes of every width, first and last positions.
    check_gaps(np.array([0, 1, 500_000, 500_001, numel - 1]), numel)
    check_gaps(np.array([numel - 1]), numel)
    check_gaps(np.array([0]), 1)
    check_gaps(np.arange(1000), 1000)  # dense
    stream = check_gaps(np.array([], np.int64), 1000)  # empty
    assert stream.count == 0 and stream.encoded_size == 0
    assert T.decode_gaps(np.zeros(0, np.uint16), 3, 0, 0).size == 0
    with pytest.raises(ValueError):
        encode_gaps(np.array([5]), 5)


def test_gaps_hostile() -> None:
    sym = np.array([0, 3, 1], np.uint16)  # bits 2: positions 0, 5
    np.testing.assert_array_equal(T.decode_gaps(sym, 2, 2, 6), [0, 5])
    with pytest.raises(ModelFormatError, match="store more"):
        T.decode_gaps(sym, 2, 1, 6)
    with pytest.raises(ModelFormatError, match="2 values, 3 expected"):
        T.decode_gaps(sym, 2, 3, 6)
    with pytest.raises(ModelFormatError, match="past the element count"):
        T.decode_gaps(sym, 2, 2, 5)
    with pytest.raises(ModelFormatError, match="past the element count"):
        T.decode_gaps(np.array([3, 3], np.uint16), 2, 0, 5)  # escapes running past the end
    np.testing.assert_array_equal(T.decode_gaps(np.array([3, 3], np.uint16), 2, 0, 6), [])
    with pytest.raises(ModelFormatError, match="outside the alphabet"):
        T.decode_gaps(np.array([4], np.uint16), 2, 1, 100)
    with pytest.raises(ModelFormatError, match="bits"):
        T.decode_gaps(sym, 0, 2, 6)
    with pytest.raises(ModelFormatError, match="bits"):
        T.decode_gaps(sym, 17, 2, 6)
    # Positions near 2^64: no wrap-around.
    far = np.array([0xFFFF] * 4 + [5], np.uint16)
    np.testing.assert_array_equal(T.decode_gaps(far, 16, 1, 2**64 - 1), [4 * 0xFFFF + 5])
    with pytest.raises(ModelFormatError, match="past the element count"):
        T.decode_gaps(far, 16, 1, 4 * 0xFFFF + 5)
    with pytest.raises(ValueError):
        decode_gaps(sym, 2, 1, 6)
    with pytest.raises(ValueError):
        decode_gaps(sym, 2, 2, 5)


# ------------------------------------------------------------------------------------------ CRC-32, float16

def test_crc32_matches_zlib() -> None:
    rng = np.random.default_rng(9)
    for n in [0, 1, 2, 3, 4, 7, 8, 20, 255, 256, 1000, 4096, 65537, 3_000_001]:
        data = rng.bytes(n)
        assert T.crc32(data, 0) == zlib.crc32(data)
        start = int(rng.integers(0, 2**32))
        assert T.crc32(data, start) == zlib.crc32(data, start)
    # Continuation: the CRC of a concatenation from the CRC of its first part.
    a, b = rng.bytes(1234), rng.bytes(777)
    assert T.crc32(b, T.crc32(a, 0)) == zlib.crc32(a + b)
    assert T.crc32(b"123456789", 0) == 0xCBF43926  # the standard check value


def test_f16_all_bit_patterns() -> None:
    patterns = np.arange(1 << 16, dtype=np.uint32).astype("<u2")
    finite = patterns[((patterns >> 10) & 31) != 31]
    got = T.f16_decode(finite.tobytes())
    want = finite.view(np.float16).astype(np.float32)
    assert got.dtype == np.float32 and got.size == finite.size == 63488
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))  # bit-exact, -0 and subnormals too
    for p in patterns[((patterns >> 10) & 31) == 31].tolist():
        data = np.array([0x3C00, p], "<u2").tobytes()
        with pytest.raises(ModelFormatError, match="NaN" if p & 1023 else "infinite"):
            T.f16_decode(data)
    assert T.f16_decode(b"").size == 0


# ------------------------------------------------------------------------------------------ hostile streams

def reject(count: int, bits: int, packed: Optional[bytes], code_lengths: Optional[bytes],
           huffman: Optional[bytes], match: str) -> None:
    with pytest.raises(ModelFormatError, match=match):
        T.decode_stream(count, bits, packed, code_lengths, huffman)
    with pytest.raises(ValueError):
        decode_stream(Stream(count, bits, packed, code_lengths, huffman))


def test_hostile_packed() -> None:
    good = pack_bits(np.array([1, 2, 3, 4, 5]), 3)  # 15 bits -> 2 bytes
    np.testing.assert_array_equal(T.decode_stream(5, 3, good, None, None), [1, 2, 3, 4, 5])
    reject(5, 3, good[:1], None, None, "packed stream has 1 bytes, 2 expected")
    reject(5, 3, good + b"\x00", None, None, "3 bytes, 2 expected")
    reject(5, 3, good[:1] + bytes([good[1] | 0x80]), None, None, "padding")
    reject(6, 3, good, None, None, "3 expected")
    reject(5, 0, good, None, None, "bits")
    reject(5, 17, good, None, None, "bits")
    reject(0, 3, b"\x00", None, None, "0 symbols")
    reject(5, 3, None, None, None, "no data")
    reject(5, 3, b"", b"", b"", "no data")
    reject(5, 3, good, b"\x11", b"\x00", "both")


def test_hostile_huffman() -> None:
    lengths = pack_lengths([1, 2, 2])  # codes 0, 10, 11
    data = huffman_encode(np.array([0, 1, 2, 0]), [1, 2, 2])  # 0 10 11 0: 6 bits
    np.testing.assert_array_equal(T.decode_stream(4, 2, None, lengths, data), [0, 1, 2, 0])
    reject(4, 2, None, lengths, None, "too short")
    reject(4, 2, None, lengths, b"", "too short")
    # Padding zeros decode as symbol 0 (code 0) twice more, not three times.
    np.testing.assert_array_equal(T.decode_stream(6, 2, None, lengths, data), [0, 1, 2, 0, 0, 0])
    reject(7, 2, None, lengths, data, "ends in symbol 6")
    reject(4, 2, None, lengths, data + b"\x00", "2 bytes, 1 expected")
    reject(4, 2, None, lengths, bytes([data[0] | 0x80]), "padding")
    reject(4, 2, None, None, data, "without code lengths")
    reject(4, 2, None, b"", data, "without code lengths")
    reject(4, 2, None, b"\x11\x02", data, "over-subscribed")  # lengths 1, 1, 2
    reject(4, 2, None, pack_lengths([1, 2, 0]), data, "not a complete code")
    reject(4, 2, None, pack_lengths([2, 2, 2]), data, "not a complete code")
    reject(4, 2, None, b"\x00\x00", data, "no symbol")
    reject(4, 2, None, pack_lengths([0, 2]), data, "not a complete code")  # a single symbol must have length 1
    # A lengths table longer than the alphabet (2 bits: 4 symbols, 2 bytes) even when the extra ones are 0.
    reject(4, 2, None, lengths + b"\x00", data, "alphabet")
    reject(4, 1, None, lengths, data, "alphabet")
    # Symbol >= alphabet: only lengths-table entries exist, so symbol 2 of a 1-bit alphabet cannot be coded.
    reject(1, 1, None, b"\x11\x01", b"\x00", "alphabet")


def test_single_symbol_code() -> None:
    lengths = pack_lengths([0, 0, 0, 0, 0, 1])
    s = Stream(11, 3, code_lengths=lengths, huffman=b"\x00\x00")
    np.testing.assert_array_equal(both_decode(s), [5] * 11)
    # The code 1 is not assigned.
    reject(11, 3, None, lengths, b"\x00\x04", "unassigned")
    reject(11, 3, None, lengths, b"\x00", "too short")


def test_long_codes_decode() -> None:
    """Codes longer than the C decoder's lookup table, at the end of the data too."""
    counts = np.array([2 ** (20 - i) for i in range(16)] + [1], np.int64)
    lengths = huffman_lengths(counts)
    assert lengths.max() == 15
    rng = np.random.default_rng(10)
    for _ in range(20):
        s = rng.integers(0, counts.size, int(rng.integers(1, 60)))
        s[-1] = counts.size - 1
        stream = Stream(s.size, 5, code_lengths=pack_lengths(lengths), huffman=huffman_encode(s, lengths))
        np.testing.assert_array_equal(both_decode(stream), s)
        # Cut inside the last (15-bit) code.
        if len(stream.huffman) > 1:
            reject(s.size, 5, None, stream.code_lengths, stream.huffman[:-1], "ends in symbol")


def test_random_mutations() -> None:
    """Mutated valid streams: the C decoder decodes or raises ModelFormatError, and agrees with the Python
    decoder on which and on the symbols."""
    rng = np.random.default_rng(11)
    bases = []
    for bits in [1, 2, 3, 5, 8, 9, 12, 16]:
        for kind in ["uniform", "geometric", "single", "two"]:
            s = distribution(kind, int(rng.integers(1, 80)), bits, rng)
            bases.append(encode_stream(s, bits))
            lengths = huffman_lengths(np.bincount(s, minlength=1 << bits))
            bases.append(Stream(s.size, bits, code_lengths=pack_lengths(lengths), huffman=huffman_encode(s, lengths)))
    decoded = 0
    for trial in range(4000):
        base = bases[trial % len(bases)]
        fields = {"packed": base.packed, "code_lengths": base.code_lengths, "huffman": base.huffman}
        count, bits = base.count, base.bits
        for _ in range(int(rng.integers(1, 4))):
            op = int(rng.integers(0, 8))
            name = ["packed", "code_lengths", "huffman"][int(rng.integers(0, 3))]
            f = bytearray(fields[name] or b"")
            if op <= 2 and f:  # flip bits
                i = int(rng.integers(0, len(f)))
                f[i] ^= 1 << int(rng.integers(0, 8))
            elif op == 3 and f:  # truncate
                del f[int(rng.integers(0, len(f))):]
            elif op == 4:  # append
                f += rng.bytes(int(rng.integers(1, 3)))
            elif op == 5 and f:  # random byte
                f[int(rng.integers(0, len(f)))] = int(rng.integers(0, 256))
            elif op == 6:
                count = max(0, count + int(rng.integers(-2, 3)))
            else:
                bits = int(rng.integers(0, 18))
            fields[name] = bytes(f) if f or fields[name] is not None else None
        try:
            got = T.decode_stream(count, bits, fields["packed"], fields["code_lengths"], fields["huffman"])
        except ModelFormatError:
            got = None
        try:
            want = decode_stream(Stream(count, bits, **fields))
        except ValueError:
            want = None
        assert (got is None) == (want is None), (trial, count, bits, fields)
        if got is not None:
            np.testing.assert_array_equal(got, want)
            decoded += 1
    assert 100 < decoded < 3900


def test_module_exports() -> None:
    for name in coding.__all__:
        assert hasattr(coding, name)

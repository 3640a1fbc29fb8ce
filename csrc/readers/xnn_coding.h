/* Symbol coding of the .xnn format (docs/FORMAT.md): CRC-32, bit-packed and canonical Huffman symbol
 * streams, sparse positions as gaps, float16. Every decoder validates its input completely and reads only
 * inside the buffers it is given; failures are XNN_ERROR_PARSE with a message saying what is wrong, to
 * which the container reader prefixes the node and field. */
#pragma once
#include "core/common.h"

/* zlib's crc32(): continues `crc` (0 to start) over `size` bytes. */
XNN_INTERNAL uint32_t xnn_crc32(uint32_t crc, const void* data, size_t size);

/* A `Stream` message. Presence follows proto3, where an empty bytes field cannot be told from an absent
 * one: a field is present when its size is nonzero (its pointer may be NULL only when the size is 0). */
typedef struct xnn_stream_view {
  uint64_t count; /* symbols */
  uint32_t bits;  /* alphabet 0 .. 2^bits - 1 */
  const uint8_t* packed;
  size_t packed_size;
  const uint8_t* code_lengths;
  size_t code_lengths_size;
  const uint8_t* huffman;
  size_t huffman_size;
} xnn_stream_view;

/* Decodes the stream's `count` symbols into `out`. A stream that decodes has count <= 8 * (packed_size +
 * huffman_size) (every symbol takes at least one bit), so a reader can reject a larger count before
 * allocating `out` for it. */
XNN_INTERNAL xnn_status xnn_stream_decode(const xnn_stream_view* s, uint16_t* out);

/* Turns `count` gap symbols of width `bits` into the `nnz` positions they store, each below `numel`. */
XNN_INTERNAL xnn_status xnn_gaps_decode(const uint16_t* symbols, uint64_t count, uint32_t bits, uint64_t nnz,
                                        uint64_t numel, uint64_t* positions);

/* `n` little-endian binary16 values (2n bytes) into float32; infinities and NaN are errors. */
XNN_INTERNAL xnn_status xnn_f16_decode(const uint8_t* src, size_t n, float* dst);

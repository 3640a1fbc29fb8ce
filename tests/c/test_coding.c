/* Symbol decoders of the .xnn format (csrc/readers/xnn_coding.c) in C, also under ASan + UBSan: hand-made
 * streams with known symbols, each kind of malformed stream, and thousands of random buffers, which must
 * decode or fail with XNN_ERROR_PARSE without reading outside them (every buffer is malloc'd to its exact
 * size). tests/test_format_coding.py tests the same decoders against the Python encoders. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readers/xnn_coding.h"
#include "test_util.h"

static xnn_stream_view view(uint64_t count, uint32_t bits, const uint8_t* packed, size_t packed_size,
                            const uint8_t* lengths, size_t lengths_size, const uint8_t* huffman, size_t huffman_size) {
  xnn_stream_view v = {count, bits, packed, packed_size, lengths, lengths_size, huffman, huffman_size};
  return v;
}

static int equal16(const uint16_t* a, const uint16_t* b, size_t n) { return memcmp(a, b, n * sizeof(*a)) == 0; }

static void expect_error(const xnn_stream_view* v, const char* what) {
  uint16_t out[64];
  CHECK(v->count <= 64, "test stream too long");
  const xnn_status st = xnn_stream_decode(v, out);
  CHECK(st == XNN_ERROR_PARSE, "%s: status %d", what, (int)st);
  CHECK(strstr(xnn_last_error(), what) != NULL, "message '%s' lacks '%s'", xnn_last_error(), what);
}

static void test_crc32(void) {
  CHECK(xnn_crc32(0, "123456789", 9) == 0xcbf43926u, "check value");
  CHECK(xnn_crc32(0, NULL, 0) == 0, "empty");
  CHECK(xnn_crc32(xnn_crc32(0, "1234", 4), "56789", 5) == 0xcbf43926u, "continued");
}

static void test_packed(void) {
  /* Symbols 1 2 3 4 5 of 3 bits, least significant bit first: bits 0..14 are 100 010 110 001 101, so
   * byte 0 = bits 0, 4, 6, 7 = 0xd1 and byte 1 = bits 11, 12, 14 = 0x58; bit 15 is padding. */
  const uint8_t packed[] = {0xd1, 0x58};
  const uint16_t want[] = {1, 2, 3, 4, 5};
  uint16_t out[5];
  xnn_stream_view v = view(5, 3, packed, 2, NULL, 0, NULL, 0);
  CHECK_OK(xnn_stream_decode(&v, out));
  CHECK(equal16(out, want, 5), "packed symbols");
  v.packed_size = 1;
  expect_error(&v, "1 bytes, 2 expected");
  v.count = 6;
  v.packed_size = 2;
  expect_error(&v, "2 bytes, 3 expected");
  const uint8_t padded[] = {0xd1, 0xd8};
  v = view(5, 3, padded, 2, NULL, 0, NULL, 0);
  expect_error(&v, "padding");
  v = view(5, 17, packed, 2, NULL, 0, NULL, 0);
  expect_error(&v, "17 bits");
  v = view(0, 3, packed, 2, NULL, 0, NULL, 0);
  expect_error(&v, "0 symbols");
  v = view(0, 3, NULL, 0, NULL, 0, NULL, 0);
  CHECK_OK(xnn_stream_decode(&v, out));
  v = view(5, 3, NULL, 0, NULL, 0, NULL, 0);
  expect_error(&v, "no data");
  /* 16-bit symbols. */
  const uint8_t wide[] = {0x34, 0x12, 0xff, 0xff};
  const uint16_t want_wide[] = {0x1234, 0xffff};
  v = view(2, 16, wide, 4, NULL, 0, NULL, 0);
  CHECK_OK(xnn_stream_decode(&v, out));
  CHECK(equal16(out, want_wide, 2), "16-bit symbols");
}

static void test_huffman(void) {
  /* RFC 1951's example: lengths (3, 3, 3, 3, 3, 2, 4, 4) for symbols 0..7. By (length, symbol): 5 gets 00;
   * 0 1 2 3 4 get 010 011 100 101 110; 6 and 7 get 1110 1111. Symbols 5 0 7 2 are 00 010 1111 100,
   * stream bits 0..11 = 0 0 0 1 0 1 1 1 1 1 0 0, bytes 0xe8 0x03 with 4 bits of padding. */
  const uint8_t lengths[] = {0x33, 0x33, 0x23, 0x44};
  const uint8_t data[] = {0xe8, 0x03};
  const uint16_t want[] = {5, 0, 7, 2};
  uint16_t out[8];
  xnn_stream_view v = view(4, 3, NULL, 0, lengths, 4, data, 2);
  CHECK_OK(xnn_stream_decode(&v, out));
  CHECK(equal16(out, want, 4), "Huffman symbols %u %u %u %u", out[0], out[1], out[2], out[3]);
  /* The padding 0000 decodes as symbol 5 (00) twice more. */
  v.count = 6;
  CHECK_OK(xnn_stream_decode(&v, out));
  CHECK(out[4] == 5 && out[5] == 5, "padding as symbols");
  v.count = 7;
  expect_error(&v, "ends in symbol 6");
  v = view(4, 3, NULL, 0, lengths, 4, data, 1);
  expect_error(&v, "ends in symbol 2");
  const uint8_t extra[] = {0xe8, 0x03, 0x00};
  v = view(4, 3, NULL, 0, lengths, 4, extra, 3);
  expect_error(&v, "3 bytes, 2 expected");
  const uint8_t padded[] = {0xe8, 0x13};
  v = view(4, 3, NULL, 0, lengths, 4, padded, 2);
  expect_error(&v, "padding");
  const uint8_t over[] = {0x33, 0x33, 0x23, 0x43}; /* a 4 turned into a 3 */
  v = view(4, 3, NULL, 0, over, 4, data, 2);
  expect_error(&v, "over-subscribed");
  const uint8_t incomplete[] = {0x33, 0x33, 0x23, 0x04};
  v = view(4, 3, NULL, 0, incomplete, 4, data, 2);
  expect_error(&v, "not a complete code");
  const uint8_t too_many[] = {0x33, 0x33, 0x23, 0x44, 0x00};
  v = view(4, 3, NULL, 0, too_many, 5, data, 2);
  expect_error(&v, "alphabet");
  const uint8_t packed[] = {0};
  v = view(4, 3, packed, 1, lengths, 4, data, 2);
  expect_error(&v, "both");
  v = view(4, 3, NULL, 0, NULL, 0, data, 2);
  expect_error(&v, "without code lengths");

  /* Lengths 1, 2, ..., 15, 15 for symbols 0..15: codes 0, 10, 110, ..., fourteen 1s and a 0 (symbol 14),
   * fifteen 1s (symbol 15), longer than the decoder's lookup table. Symbols 15 0 14 1 are 15 ones, 0,
   * 14 ones, 0, 1, 0: 33 bits, bytes ff 7f ff bf 00. */
  const uint8_t long_lengths[] = {0x21, 0x43, 0x65, 0x87, 0xa9, 0xcb, 0xed, 0xff};
  const uint8_t long_data[] = {0xff, 0x7f, 0xff, 0xbf, 0x00};
  const uint16_t long_want[] = {15, 0, 14, 1};
  v = view(4, 4, NULL, 0, long_lengths, 8, long_data, 5);
  CHECK_OK(xnn_stream_decode(&v, out));
  CHECK(equal16(out, long_want, 4), "long codes %u %u %u %u", out[0], out[1], out[2], out[3]);
  v.huffman_size = 4;
  expect_error(&v, "ends in symbol 3");

  /* One used symbol of length 1: code 0; code 1 is unassigned. */
  const uint8_t single[] = {0x00, 0x10};
  const uint8_t zeros[] = {0x00}, one[] = {0x04};
  v = view(8, 2, NULL, 0, single, 2, zeros, 1);
  CHECK_OK(xnn_stream_decode(&v, out));
  CHECK(out[0] == 3 && out[7] == 3, "single symbol");
  v = view(8, 2, NULL, 0, single, 2, one, 1);
  expect_error(&v, "unassigned code at symbol 2");
  const uint8_t single2[] = {0x00, 0x20};
  v = view(8, 2, NULL, 0, single2, 2, zeros, 1);
  expect_error(&v, "not a complete code");
}

static void test_gaps(void) {
  /* 2-bit gaps, escape 3: 0 stores position 0; 3 skips 3; 1 skips 1 more and stores position 5. */
  const uint16_t sym[] = {0, 3, 1};
  uint64_t pos[4];
  CHECK_OK(xnn_gaps_decode(sym, 3, 2, 2, 6, pos));
  CHECK(pos[0] == 0 && pos[1] == 5, "gap positions");
  CHECK_STATUS(xnn_gaps_decode(sym, 3, 2, 1, 6, pos), XNN_ERROR_PARSE);
  CHECK_STATUS(xnn_gaps_decode(sym, 3, 2, 3, 6, pos), XNN_ERROR_PARSE);
  CHECK_STATUS(xnn_gaps_decode(sym, 3, 2, 2, 5, pos), XNN_ERROR_PARSE);
  CHECK_STATUS(xnn_gaps_decode(sym, 3, 1, 2, 6, pos), XNN_ERROR_PARSE); /* symbol 3 > escape 1 */
  const uint16_t far[] = {0xffff, 0xffff, 7};
  CHECK_OK(xnn_gaps_decode(far, 3, 16, 1, UINT64_MAX, pos));
  CHECK(pos[0] == 2 * 0xffffull + 7, "far position");
  CHECK_STATUS(xnn_gaps_decode(far, 3, 16, 1, 2 * 0xffffull + 7, pos), XNN_ERROR_PARSE);
}

static void test_f16(void) {
  const uint8_t h[] = {0x00, 0x3c, 0x01, 0x00, 0x00, 0x80, 0xff, 0x7b, 0xff, 0x83, 0x00, 0xc0};
  float f[6];
  CHECK_OK(xnn_f16_decode(h, 6, f));
  CHECK(f[0] == 1.0f && f[1] == 0x1p-24f && f[2] == 0.0f && signbit(f[2]) && f[3] == 65504.0f &&
            f[4] == -1023 * 0x1p-24f && f[5] == -2.0f,
        "float16 values %g %g %g %g %g %g", f[0], f[1], f[2], f[3], f[4], f[5]);
  const uint8_t inf[] = {0x00, 0x3c, 0x00, 0x7c}, nan[] = {0x01, 0xfe};
  CHECK_STATUS(xnn_f16_decode(inf, 2, f), XNN_ERROR_PARSE);
  CHECK(strstr(xnn_last_error(), "value 1 is infinite") != NULL, "%s", xnn_last_error());
  CHECK_STATUS(xnn_f16_decode(nan, 1, f), XNN_ERROR_PARSE);
  CHECK(strstr(xnn_last_error(), "NaN") != NULL, "%s", xnn_last_error());
}

/* A copy of n random bytes in a buffer of exactly n bytes (NULL when n is 0), so that ASan sees overreads. */
static uint8_t* random_bytes(test_rng* r, size_t n) {
  if (!n) return NULL;
  uint8_t* p = malloc(n);
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rng_next(r);
  return p;
}

static uint8_t* copy_bytes(const uint8_t* src, size_t n) {
  uint8_t* p = malloc(n);
  memcpy(p, src, n);
  return p;
}

static void test_random(void) {
  test_rng r = {0x9e3779b97f4a7c15ull};
  /* Valid codes, so that random data runs through the decoding loop: the example above, a flat 4-bit code
   * and the code with 15-bit words. */
  static const uint8_t codes[][8] = {{0x33, 0x33, 0x23, 0x44},
                                     {0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44},
                                     {0x21, 0x43, 0x65, 0x87, 0xa9, 0xcb, 0xed, 0xff}};
  static const size_t code_sizes[] = {4, 8, 8};
  static const uint32_t code_bits[] = {3, 4, 4};
  int decoded = 0;
  for (int iter = 0; iter < 5000; iter++) {
    const int kind = (int)rng_below(&r, 4);
    const uint64_t count = rng_below(&r, 80);
    uint32_t bits = (uint32_t)rng_below(&r, 18);
    size_t packed_size = 0, lengths_size = 0, huffman_size = 0;
    uint8_t *packed = NULL, *lengths = NULL, *huffman = NULL;
    if (kind == 0) { /* packed, mostly of the right size */
      bits = bits ? bits : 1;
      const size_t exact = (size_t)((count * (bits > 16 ? 16 : bits) + 7) / 8), delta = rng_below(&r, 3);
      packed_size = exact + delta >= 1 ? exact + delta - 1 : 0; /* one byte short, exact or one too many */
      packed = random_bytes(&r, packed_size);
    } else if (kind == 1) { /* valid code, random data */
      const size_t c = rng_below(&r, 3);
      bits = code_bits[c];
      lengths_size = code_sizes[c];
      lengths = copy_bytes(codes[c], lengths_size);
      huffman_size = rng_below(&r, 40);
      huffman = random_bytes(&r, huffman_size);
    } else { /* anything */
      lengths_size = rng_below(&r, kind == 2 ? 8 : 40);
      lengths = random_bytes(&r, lengths_size);
      huffman_size = rng_below(&r, 40);
      huffman = random_bytes(&r, huffman_size);
      if (rng_below(&r, 4) == 0) {
        packed_size = rng_below(&r, 20);
        packed = random_bytes(&r, packed_size);
      }
    }
    uint16_t* out = malloc(count ? count * sizeof(uint16_t) : 1);
    const xnn_stream_view v = view(count, bits, packed, packed_size, lengths, lengths_size, huffman, huffman_size);
    const xnn_status st = xnn_stream_decode(&v, out);
    CHECK(st == XNN_OK || st == XNN_ERROR_PARSE, "random stream %d: status %d", iter, (int)st);
    if (st == XNN_OK) {
      decoded++;
      for (uint64_t i = 0; i < count; i++) CHECK(out[i] < (1u << bits), "symbol outside the alphabet");
      /* The symbols as gaps, with random nnz and element counts. */
      const uint64_t nnz = rng_below(&r, count + 2), numel = rng_below(&r, 4 * count + 2);
      uint64_t* pos = malloc(nnz ? nnz * sizeof(uint64_t) : 1);
      const xnn_status gs = xnn_gaps_decode(out, count, bits, nnz, numel, pos);
      CHECK(gs == XNN_OK || gs == XNN_ERROR_PARSE, "gaps: status %d", (int)gs);
      for (uint64_t i = 0; gs == XNN_OK && i < nnz; i++)
        CHECK(pos[i] < numel && (i == 0 || pos[i] > pos[i - 1]), "gap positions out of order");
      free(pos);
    }
    free(out);
    free(packed);
    free(lengths);
    free(huffman);
  }
  CHECK(decoded > 100, "only %d random streams decoded", decoded);
  for (int iter = 0; iter < 1000; iter++) {
    const size_t n = rng_below(&r, 16);
    uint8_t* h = random_bytes(&r, 2 * n);
    float f[16];
    const xnn_status st = xnn_f16_decode(h, n, f);
    CHECK(st == XNN_OK || st == XNN_ERROR_PARSE, "float16: status %d", (int)st);
    free(h);
  }
}

int main(void) {
  test_crc32();
  test_packed();
  test_huffman();
  test_gaps();
  test_f16();
  test_random();
  if (g_failures) {
    fprintf(stderr, "test_coding: %d check(s) failed\n", g_failures);
    return 1;
  }
  printf("test_coding: all checks passed\n");
  return 0;
}

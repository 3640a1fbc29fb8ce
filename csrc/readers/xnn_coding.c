#include "readers/xnn_coding.h"

#include <stdlib.h>
#include <string.h>

uint32_t xnn_crc32(uint32_t crc, const void* data, size_t size) {
  /* The byte table is rebuilt per call instead of stored: no 1 KB of constants in the library and no shared
   * state to initialize under threads. Built from its 8 power-of-two entries (the table is linear in the
   * byte), it costs about 300 operations, less than 40 bytes bit by bit. */
  uint32_t table[256];
  table[0] = 0;
  for (uint32_t i = 1; i < 256; i <<= 1) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    for (uint32_t j = 0; j < i; j++) table[i + j] = c ^ table[j];
  }
  const uint8_t* p = data;
  crc = ~crc;
  for (size_t i = 0; i < size; i++) crc = (crc >> 8) ^ table[(crc ^ p[i]) & 0xff];
  return ~crc;
}

static xnn_status decode_packed(const xnn_stream_view* s, uint16_t* out) {
  const uint64_t nbits = s->count * s->bits, need = nbits / 8 + (nbits % 8 != 0);
  if ((uint64_t)s->packed_size != need)
    return xnn_error(XNN_ERROR_PARSE, "packed stream has %zu bytes, %llu expected", s->packed_size,
                     (unsigned long long)need);
  if (nbits % 8 && s->packed[need - 1] >> (nbits % 8))
    return xnn_error(XNN_ERROR_PARSE, "nonzero padding bits after the last packed symbol");
  const uint8_t* p = s->packed;
  const uint32_t bits = s->bits, mask = (1u << bits) - 1;
  uint64_t buf = 0;
  uint32_t have = 0;
  for (uint64_t i = 0; i < s->count; i++) {
    /* Loads exactly the `need` bytes checked above, one when the buffer runs short. */
    while (have < bits) {
      buf |= (uint64_t)*p++ << have;
      have += 8;
    }
    out[i] = (uint16_t)(buf & mask);
    buf >>= bits;
    have -= bits;
  }
  return XNN_OK;
}

/* Codes of up to FAST_BITS bits decode with one lookup of the next FAST_BITS stream bits (2 KB of stack);
 * longer ones, rare by construction, one bit at a time. */
#define FAST_BITS 9
#define MAX_CODE 15

static xnn_status decode_huffman(const xnn_stream_view* s, uint16_t* out) {
  const size_t alphabet = (size_t)1 << s->bits;
  if (s->code_lengths_size > alphabet / 2)
    return xnn_error(XNN_ERROR_PARSE, "Huffman code lengths for %zu symbols, the alphabet has %zu",
                     2 * s->code_lengths_size, alphabet);
  /* Every symbol takes at least one bit. */
  if ((s->count + 7) / 8 > (uint64_t)s->huffman_size)
    return xnn_error(XNN_ERROR_PARSE, "Huffman data of %zu bytes is too short for %llu symbols", s->huffman_size,
                     (unsigned long long)s->count);

  const size_t nsym = 2 * s->code_lengths_size;
  const uint8_t* lengths = s->code_lengths;
  int count_of[MAX_CODE + 1] = {0};
  for (size_t i = 0; i < nsym; i++) count_of[(lengths[i / 2] >> (i % 2 * 4)) & 15]++;
  int used = 0, max_len = 0, left = 1;
  for (int len = 1; len <= MAX_CODE; len++) {
    used += count_of[len];
    if (count_of[len]) max_len = len;
    left = 2 * left - count_of[len];
    if (left < 0) return xnn_error(XNN_ERROR_PARSE, "Huffman code lengths are over-subscribed");
  }
  if (used == 0) return xnn_error(XNN_ERROR_PARSE, "Huffman code lengths have no symbol");
  if (left > 0 && !(used == 1 && max_len == 1))
    return xnn_error(XNN_ERROR_PARSE, "Huffman code lengths are not a complete code");

  /* first[len]: the canonical code of the first symbol of length len (RFC 1951's next_code). */
  int first[MAX_CODE + 1], next_code[MAX_CODE + 1];
  first[1] = 0;
  for (int len = 2; len <= MAX_CODE; len++) first[len] = (first[len - 1] + count_of[len - 1]) << 1;
  memcpy(next_code, first, sizeof(first));
  const int fast_bits = XNN_MIN(max_len, FAST_BITS);
  const uint32_t fast_size = 1u << fast_bits;
  uint32_t fast[1 << FAST_BITS]; /* symbol | length << 16, indexed by the next bits in stream order; 0: longer */
  memset(fast, 0, fast_size * sizeof(fast[0]));
  /* Symbols of codes longer than the table, by (length, symbol), i.e. in the order of their codes; usually
   * none, and then nothing is allocated. */
  int offset[MAX_CODE + 2] = {0};
  for (int len = fast_bits + 1; len <= MAX_CODE; len++) offset[len + 1] = offset[len] + count_of[len];
  uint16_t* sorted = NULL;
  if (offset[MAX_CODE + 1]) {
    sorted = malloc((size_t)offset[MAX_CODE + 1] * sizeof(uint16_t));
    if (!sorted) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory for a Huffman code of %d symbols", used);
  }
  for (size_t sym = 0; sym < nsym; sym++) {
    const int len = (lengths[sym / 2] >> (sym % 2 * 4)) & 15;
    if (!len) continue;
    const uint32_t code = (uint32_t)next_code[len]++;
    if (len > fast_bits) {
      sorted[offset[len]++] = (uint16_t)sym;
      continue;
    }
    /* The stream holds codes most significant bit first, so the table is indexed by reversed codes. */
    uint32_t rev = 0;
    for (int k = 0; k < len; k++) rev |= ((code >> k) & 1) << (len - 1 - k);
    for (uint32_t k = rev; k < fast_size; k += 1u << len) fast[k] = (uint32_t)sym | (uint32_t)len << 16;
  }
  for (int len = fast_bits + 1; len <= MAX_CODE; len++) offset[len] -= count_of[len]; /* back to their starts */

  const uint8_t* p = s->huffman;
  const uint8_t* const end = p + s->huffman_size;
  uint64_t buf = 0;
  uint32_t have = 0;
  xnn_status status = XNN_OK;
  for (uint64_t i = 0; i < s->count; i++) {
    if (have < MAX_CODE) {
      while (have <= 56 && p < end) {
        buf |= (uint64_t)*p++ << have;
        have += 8;
      }
    }
    const uint32_t e = fast[buf & (fast_size - 1)];
    uint32_t len = e >> 16, sym = e & 0xffff;
    if (!len) {
      /* Not in the table: a code longer than fast_bits, read one more bit at a time. Its prefixes are no
       * code, so at each length its value is at least that length's first code. */
      int code = 0;
      for (int l = 1; l <= max_len; l++) {
        code = code << 1 | (int)((buf >> (l - 1)) & 1);
        if (l > fast_bits && code - first[l] < count_of[l]) {
          sym = sorted[offset[l] + code - first[l]];
          len = (uint32_t)l;
          break;
        }
      }
      if (!len) {
        status = xnn_error(XNN_ERROR_PARSE, "Huffman data has an unassigned code at symbol %llu",
                           (unsigned long long)i);
        goto done;
      }
    }
    if (len > have) {
      status = xnn_error(XNN_ERROR_PARSE, "Huffman data of %zu bytes ends in symbol %llu of %llu", s->huffman_size,
                         (unsigned long long)i, (unsigned long long)s->count);
      goto done;
    }
    out[i] = (uint16_t)sym;
    buf >>= len;
    have -= len;
  }
  if (p < end || have >= 8) {
    status = xnn_error(XNN_ERROR_PARSE, "Huffman data has %zu bytes, %zu expected", s->huffman_size,
                       s->huffman_size - (size_t)(end - p) - have / 8);
  } else if (buf) {
    status = xnn_error(XNN_ERROR_PARSE, "nonzero padding bits after the last Huffman code");
  }
done:
  free(sorted);
  return status;
}

xnn_status xnn_stream_decode(const xnn_stream_view* s, uint16_t* out) {
  if (s->bits < 1 || s->bits > 16)
    return xnn_error(XNN_ERROR_PARSE, "stream symbols have %u bits, must be 1 to 16", s->bits);
  /* Keeps count * bits inside 64 bits. */
  if (s->count > UINT64_MAX / 16)
    return xnn_error(XNN_ERROR_PARSE, "stream of %llu symbols is too long", (unsigned long long)s->count);
  const int has_packed = s->packed_size > 0, has_huffman = s->code_lengths_size > 0 || s->huffman_size > 0;
  if (s->count == 0) {
    if (has_packed || has_huffman)
      return xnn_error(XNN_ERROR_PARSE, "stream of 0 symbols has %zu bytes of data",
                       s->packed_size + s->code_lengths_size + s->huffman_size);
    return XNN_OK;
  }
  if (has_packed && has_huffman) return xnn_error(XNN_ERROR_PARSE, "stream is both packed and Huffman-coded");
  if (has_packed) return decode_packed(s, out);
  if (!has_huffman)
    return xnn_error(XNN_ERROR_PARSE, "stream of %llu symbols has no data", (unsigned long long)s->count);
  if (!s->code_lengths_size) return xnn_error(XNN_ERROR_PARSE, "Huffman data without code lengths");
  return decode_huffman(s, out);
}

xnn_status xnn_gaps_decode(const uint16_t* symbols, uint64_t count, uint32_t bits, uint64_t nnz, uint64_t numel,
                           uint64_t* positions) {
  if (bits < 1 || bits > 16) return xnn_error(XNN_ERROR_PARSE, "gap symbols have %u bits, must be 1 to 16", bits);
  const uint32_t escape = (1u << bits) - 1;
  /* p <= numel throughout, so the comparisons below are against numel - p and nothing overflows. */
  uint64_t p = 0, stored = 0;
  for (uint64_t i = 0; i < count; i++) {
    const uint32_t s = symbols[i];
    if (s > escape)
      return xnn_error(XNN_ERROR_PARSE, "gap symbol %llu is %u, outside the alphabet of %u bits",
                       (unsigned long long)i, s, bits);
    if (s == escape) {
      if (s > numel - p)
        return xnn_error(XNN_ERROR_PARSE, "gaps skip past the element count %llu at symbol %llu",
                         (unsigned long long)numel, (unsigned long long)i);
      p += s;
      continue;
    }
    if (s >= numel - p)
      return xnn_error(XNN_ERROR_PARSE, "gap symbol %llu stores a position past the element count %llu",
                       (unsigned long long)i, (unsigned long long)numel);
    if (stored == nnz)
      return xnn_error(XNN_ERROR_PARSE, "gaps store more than the %llu values", (unsigned long long)nnz);
    positions[stored++] = p + s;
    p += s + 1;
  }
  if (stored != nnz)
    return xnn_error(XNN_ERROR_PARSE, "gaps store %llu values, %llu expected", (unsigned long long)stored,
                     (unsigned long long)nnz);
  return XNN_OK;
}

xnn_status xnn_f16_decode(const uint8_t* src, size_t n, float* dst) {
  for (size_t i = 0; i < n; i++) {
    const uint32_t h = (uint32_t)src[2 * i] | (uint32_t)src[2 * i + 1] << 8;
    const uint32_t exponent = (h >> 10) & 31, mantissa = h & 1023, sign = (h & 0x8000) << 16;
    if (exponent == 31)
      return xnn_error(XNN_ERROR_PARSE, "float16 value %zu is %s", i, mantissa ? "NaN" : "infinite");
    uint32_t f;
    if (exponent) {
      f = sign | (exponent + 112) << 23 | mantissa << 13;
    } else {
      /* Subnormal or zero: mantissa * 2^-24 is exact in float32. */
      const float x = (float)mantissa * 0x1p-24f;
      memcpy(&f, &x, sizeof(f));
      f |= sign;
    }
    memcpy(&dst[i], &f, sizeof(f));
  }
  return XNN_OK;
}

/* libFuzzer target: the .xnn reader (docs/FORMAT.md) and sessions of what loads.
 *
 * Input: the payload of a .xnn file (what follows the 24-byte header). The target writes the header
 * with the payload's size and both CRC-32s, so that mutations reach the parsers behind the checksums
 * instead of all failing there (the header checks have their own tests in tests/test_format.py).
 * Build and run: tests/test_fuzz.py (seeds in tests/data/fuzz/xnn). */
#include "fuzz_session.h"

static uint32_t crc32(const uint8_t* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = c >> 1 ^ (0xEDB88320u & (0u - (c & 1)));
  }
  return ~c;
}

static void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> 8 * i);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz_pick_kernels(data, size);
  uint8_t* file = malloc(24 + size);
  if (!file) abort();
  memcpy(file, "XNNM\1\0\0\0", 8); /* magic, version 1.0 */
  put32(file + 8, (uint32_t)size);
  put32(file + 12, (uint32_t)((uint64_t)size >> 32));
  put32(file + 16, crc32(data, size));
  put32(file + 20, crc32(file, 20));
  memcpy(file + 24, data, size);
  xnn_model* m = NULL;
  const xnn_status st = xnn_model_load_memory(file, 24 + size, &m);
  free(file);
  if (st != XNN_OK) {
    if (m || !xnn_last_error()[0]) abort();
    return 0;
  }
  fuzz_sessions(m, (uint32_t)size);
  xnn_model_free(m);
  return 0;
}

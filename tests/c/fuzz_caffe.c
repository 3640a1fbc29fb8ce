/* libFuzzer target: the Caffe loader (prototxt text + caffemodel wire data) and sessions of what loads.
 *
 * Input: a 4-byte little-endian length L, then L bytes of prototxt, then the caffemodel (the rest). An L
 * past the end gives the whole rest to the prototxt and an empty caffemodel (the text parser alone).
 * Build and run: tests/test_fuzz.py (seeds in tests/data/fuzz/caffe). */
#include "fuzz_session.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz_pick_kernels(data, size);
  if (size < 4) return 0;
  const uint32_t len = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
  data += 4;
  size -= 4;
  const size_t text_size = len < size ? len : size;
  /* Copies of exactly the given sizes, so that ASan sees any read past either buffer. */
  char* text = malloc(text_size ? text_size : 1);
  unsigned char* bin = malloc(size - text_size ? size - text_size : 1);
  if (!text || !bin) abort();
  memcpy(text, data, text_size);
  memcpy(bin, data + text_size, size - text_size);
  xnn_model* m = NULL;
  const xnn_status st = xnn_model_load_caffe_memory(text, text_size, bin, size - text_size, &m);
  free(text);
  free(bin);
  if (st != XNN_OK) {
    /* An error leaves no model behind and says what is wrong. */
    if (m || !xnn_last_error()[0]) abort();
    return 0;
  }
  fuzz_sessions(m, len ^ (uint32_t)size);
  xnn_model_free(m);
  return 0;
}

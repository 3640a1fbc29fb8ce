#include "readers/wire.h"

#include <string.h>

int xnn_wire_varint(const uint8_t** pp, const uint8_t* end, uint64_t* out) {
  const uint8_t* p = *pp;
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p >= end) return 0;
    const uint8_t b = *p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *pp = p;
      *out = v;
      return 1;
    }
  }
  return 0;
}

int xnn_wire_next(xnn_wire* w, xnn_wire_field* f, const char* what) {
  if (w->p >= w->end) return 0;
  const size_t offset_left = (size_t)(w->end - w->p);
  uint64_t key;
  if (!xnn_wire_varint(&w->p, w->end, &key) || (key >> 3) == 0 || (key >> 3) > 0x1fffffff) {
    xnn_error(XNN_ERROR_PARSE, "bad field key in %s (%zu bytes before its end)", what, offset_left);
    return -1;
  }
  f->number = (uint32_t)(key >> 3);
  f->type = (int)(key & 7);
  f->data = NULL;
  f->size = 0;
  switch (f->type) {
    case XNN_WIRE_VARINT:
      if (!xnn_wire_varint(&w->p, w->end, &f->value)) break;
      return 1;
    case XNN_WIRE_FIXED64:
      if ((size_t)(w->end - w->p) < 8) break;
      memcpy(&f->value, w->p, 8);
      w->p += 8;
      return 1;
    case XNN_WIRE_FIXED32: {
      if ((size_t)(w->end - w->p) < 4) break;
      uint32_t v;
      memcpy(&v, w->p, 4);
      f->value = v;
      w->p += 4;
      return 1;
    }
    case XNN_WIRE_LEN: {
      uint64_t len;
      if (!xnn_wire_varint(&w->p, w->end, &len) || len > (uint64_t)(w->end - w->p)) break;
      f->data = w->p;
      f->size = (size_t)len;
      w->p += len;
      return 1;
    }
    default:
      xnn_error(XNN_ERROR_PARSE, "field %u of %s has unsupported wire type %d", f->number, what,
                f->type);
      return -1;
  }
  xnn_error(XNN_ERROR_PARSE, "field %u of %s is truncated", f->number, what);
  return -1;
}

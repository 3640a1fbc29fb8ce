/* Protobuf wire format: just enough to walk messages (varints, length-delimited fields, fixed32/64),
 * every read bounds-checked. */
#pragma once
#include "core/common.h"

enum { XNN_WIRE_VARINT = 0, XNN_WIRE_FIXED64 = 1, XNN_WIRE_LEN = 2, XNN_WIRE_FIXED32 = 5 };

typedef struct xnn_wire {
  const uint8_t* p;
  const uint8_t* end;
} xnn_wire;

typedef struct xnn_wire_field {
  uint32_t number;
  int type;
  uint64_t value;      /* varint / fixed */
  const uint8_t* data; /* LEN payload */
  size_t size;
} xnn_wire_field;

/* 1: a field was read; 0: end of message; -1: malformed (message in xnn_last_error, `what` names the message). */
XNN_INTERNAL int xnn_wire_next(xnn_wire* w, xnn_wire_field* f, const char* what);
/* Reads one varint from a packed payload; 0 on truncation. */
XNN_INTERNAL int xnn_wire_varint(const uint8_t** p, const uint8_t* end, uint64_t* out);

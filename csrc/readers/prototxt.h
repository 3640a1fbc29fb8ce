/* Protobuf text format (prototxt) parser: a generic tree of fields with line numbers, validated
 * against a schema table so that unknown fields are reported with their line. */
#pragma once
#include "core/common.h"

enum { XNN_PT_NUMBER = -1, XNN_PT_STRING = -2, XNN_PT_ENUM = -3 };

/* A schema is offsets into tables rather than pointers, so that it needs no relocation at load. */
typedef struct xnn_pt_field {
  uint16_t name; /* offset in the schema's names */
  int16_t kind;  /* XNN_PT_* for scalars, else the index of the message type */
} xnn_pt_field;

typedef struct xnn_pt_message {
  uint16_t name, first_field, num_fields;
} xnn_pt_message;

typedef struct xnn_pt_schema {
  const char* names; /* NUL-terminated names, one after the other */
  const xnn_pt_field* fields;
  const xnn_pt_message* messages;
} xnn_pt_schema;

typedef struct xnn_pt_node {
  const char* key;
  const char* value;           /* scalar text (strings unquoted); NULL for a message */
  struct xnn_pt_node* child;   /* first field of a message */
  struct xnn_pt_node* next;
  int line;
  int is_string;
} xnn_pt_node;

typedef struct xnn_pt_doc xnn_pt_doc;

/* Parses `size` bytes of text. On error returns NULL status with "prototxt line N: ..." set. */
XNN_INTERNAL xnn_status xnn_pt_parse(const char* text, size_t size, xnn_pt_doc** doc);
XNN_INTERNAL const xnn_pt_node* xnn_pt_root(const xnn_pt_doc* doc);
XNN_INTERNAL void xnn_pt_free(xnn_pt_doc* doc);
/* Checks every field name and its scalar/message kind against the schema, from message `root_type`. */
XNN_INTERNAL xnn_status xnn_pt_validate(const xnn_pt_node* root, const xnn_pt_schema* schema, int root_type);

XNN_INTERNAL const xnn_pt_node* xnn_pt_find(const xnn_pt_node* msg, const char* key);
XNN_INTERNAL const xnn_pt_node* xnn_pt_find_next(const xnn_pt_node* after, const char* key);
XNN_INTERNAL int xnn_pt_count(const xnn_pt_node* msg, const char* key);
/* Typed getters: `msg` may be NULL (then the default is returned). Errors name the field and line. */
XNN_INTERNAL xnn_status xnn_pt_int(const xnn_pt_node* msg, const char* key, int64_t def, int64_t* out);
XNN_INTERNAL xnn_status xnn_pt_float(const xnn_pt_node* msg, const char* key, float def, float* out);
XNN_INTERNAL xnn_status xnn_pt_bool(const xnn_pt_node* msg, const char* key, int def, int* out);
XNN_INTERNAL xnn_status xnn_pt_node_int(const xnn_pt_node* node, int64_t* out);
XNN_INTERNAL xnn_status xnn_pt_node_float(const xnn_pt_node* node, float* out);
/* Enum by name; also accepts its number. `names` ends with NULL; *out is the index in `names`. */
XNN_INTERNAL xnn_status xnn_pt_enum(const xnn_pt_node* msg, const char* key, const char* const* names, int def, int* out);
/* Only the fields in `allowed` (NULL-terminated) may appear in `msg`; others are unsupported. */
XNN_INTERNAL xnn_status xnn_pt_only(const xnn_pt_node* msg, const char* what, const char* const* allowed);

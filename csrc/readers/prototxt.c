#include "readers/prototxt.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* All nodes and strings of a document live in a chain of blocks freed at once. */
typedef struct block {
  struct block* next;
  size_t used, cap;
  char data[];
} block;

struct xnn_pt_doc {
  block* blocks;
  xnn_pt_node root;
};

typedef struct {
  const char* p;
  const char* end;
  int line;
  xnn_pt_doc* doc;
  int depth;
} lexer;

static void* doc_alloc(xnn_pt_doc* doc, size_t size) {
  size = (size + 15) & ~(size_t)15;
  block* b = doc->blocks;
  if (!b || b->cap - b->used < size) {
    size_t cap = size > 65536 ? size : 65536;
    b = malloc(sizeof(block) + cap);
    if (!b) return NULL;
    b->next = doc->blocks;
    b->used = 0;
    b->cap = cap;
    doc->blocks = b;
  }
  void* r = b->data + b->used;
  b->used += size;
  memset(r, 0, size);
  return r;
}

static void skip_space(lexer* lx) {
  while (lx->p < lx->end) {
    char c = *lx->p;
    if (c == '\n') {
      lx->line++;
      lx->p++;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      lx->p++;
    } else if (c == '#') {
      while (lx->p < lx->end && *lx->p != '\n') lx->p++;
    } else {
      break;
    }
  }
}

static int is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-' || c == '+';
}

static xnn_status syntax(lexer* lx, const char* what) {
  if (lx->p >= lx->end) return xnn_error(XNN_ERROR_PARSE, "prototxt line %d: %s, found end of file", lx->line, what);
  char c = *lx->p;
  if (c >= 32 && c < 127)
    return xnn_error(XNN_ERROR_PARSE, "prototxt line %d: %s, found '%c'", lx->line, what, c);
  return xnn_error(XNN_ERROR_PARSE, "prototxt line %d: %s, found byte 0x%02x", lx->line, what, (unsigned char)c);
}

/* An identifier or number token, copied into the document. */
static xnn_status read_word(lexer* lx, const char** out) {
  const char* s = lx->p;
  while (lx->p < lx->end && is_ident_char(*lx->p)) lx->p++;
  if (lx->p == s) return syntax(lx, "expected a name or value");
  size_t n = (size_t)(lx->p - s);
  char* w = doc_alloc(lx->doc, n + 1);
  if (!w) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory parsing prototxt");
  memcpy(w, s, n);
  w[n] = '\0';
  *out = w;
  return XNN_OK;
}

/* Protobuf's text format holds UTF-8; anything else would reach callers as undecodable names. */
static int valid_utf8(const unsigned char* s, size_t n) {
  for (size_t i = 0; i < n;) {
    const unsigned char c = s[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (!len || i + len > n || (len == 2 && c < 0xc2) || (len == 4 && c > 0xf4)) return 0;
    for (size_t k = 1; k < len; k++)
      if ((s[i + k] & 0xc0) != 0x80) return 0;
    if (len == 3 && ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] >= 0xa0))) return 0;
    if (len == 4 && ((c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] >= 0x90))) return 0;
    i += len;
  }
  return 1;
}

/* One or more adjacent quoted strings, with C escapes, concatenated. */
static xnn_status read_string(lexer* lx, const char** out) {
  size_t cap = 64, n = 0;
  char* buf = malloc(cap);
  if (!buf) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory parsing prototxt");
  int start_line = lx->line;
  while (lx->p < lx->end && (*lx->p == '"' || *lx->p == '\'')) {
    char q = *lx->p++;
    for (;;) {
      if (lx->p >= lx->end || *lx->p == '\n') {
        free(buf);
        return xnn_error(XNN_ERROR_PARSE, "prototxt line %d: unterminated string", start_line);
      }
      char c = *lx->p++;
      if (c == q) break;
      if (c == '\\' && lx->p < lx->end) {
        char e = *lx->p++;
        c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == '0' ? '\0' : e;
      }
      if (n + 2 > cap) {
        char* nb = realloc(buf, cap *= 2);
        if (!nb) {
          free(buf);
          return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory parsing prototxt");
        }
        buf = nb;
      }
      buf[n++] = c;
    }
    skip_space(lx);
  }
  if (!valid_utf8((const unsigned char*)buf, n) || memchr(buf, '\0', n)) {
    free(buf);
    return xnn_error(XNN_ERROR_PARSE, "prototxt line %d: a string is not valid UTF-8 text", start_line);
  }
  char* w = doc_alloc(lx->doc, n + 1);
  if (w) memcpy(w, buf, n);
  free(buf);
  if (!w) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory parsing prototxt");
  *out = w;
  return XNN_OK;
}

static xnn_status parse_fields(lexer* lx, xnn_pt_node* parent, char close);

static xnn_status parse_scalar(lexer* lx, xnn_pt_node* node) {
  if (lx->p < lx->end && (*lx->p == '"' || *lx->p == '\'')) {
    node->is_string = 1;
    return read_string(lx, &node->value);
  }
  xnn_status s = read_word(lx, &node->value);
  skip_space(lx);
  return s;
}

static xnn_pt_node* new_node(lexer* lx, const char* key, int line) {
  xnn_pt_node* n = doc_alloc(lx->doc, sizeof(xnn_pt_node));
  if (n) {
    n->key = key;
    n->line = line;
  }
  return n;
}

static xnn_status parse_message_body(lexer* lx, xnn_pt_node* node) {
  char open = *lx->p++;
  char close = open == '{' ? '}' : '>';
  if (++lx->depth > 64) return xnn_error(XNN_ERROR_PARSE, "prototxt line %d: messages nested too deeply", lx->line);
  XNN_CHECK(parse_fields(lx, node, close));
  lx->depth--;
  return XNN_OK;
}

static xnn_status parse_fields(lexer* lx, xnn_pt_node* parent, char close) {
  xnn_pt_node** tail = &parent->child;
  while (*tail) tail = &(*tail)->next;
  for (;;) {
    skip_space(lx);
    if (lx->p >= lx->end) {
      if (close) return syntax(lx, close == '}' ? "expected '}'" : "expected '>'");
      return XNN_OK;
    }
    if (close && *lx->p == close) {
      lx->p++;
      return XNN_OK;
    }
    int line = lx->line;
    const char* key;
    if (!(is_ident_char(*lx->p) && !(*lx->p >= '0' && *lx->p <= '9'))) return syntax(lx, "expected a field name");
    XNN_CHECK(read_word(lx, &key));
    skip_space(lx);
    int colon = 0;
    if (lx->p < lx->end && *lx->p == ':') {
      colon = 1;
      lx->p++;
      skip_space(lx);
    }
    if (lx->p < lx->end && (*lx->p == '{' || *lx->p == '<')) {
      xnn_pt_node* n = new_node(lx, key, line);
      if (!n) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory parsing prototxt");
      XNN_CHECK(parse_message_body(lx, n));
      *tail = n;
      tail = &n->next;
    } else if (!colon) {
      return syntax(lx, "expected ':' or '{' after a field name");
    } else if (lx->p < lx->end && *lx->p == '[') {
      lx->p++;
      skip_space(lx);
      if (lx->p < lx->end && *lx->p == ']') {
        lx->p++;
      } else {
        for (;;) {
          xnn_pt_node* n = new_node(lx, key, lx->line);
          if (!n) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory parsing prototxt");
          if (lx->p < lx->end && (*lx->p == '{' || *lx->p == '<')) {
            XNN_CHECK(parse_message_body(lx, n));
          } else {
            XNN_CHECK(parse_scalar(lx, n));
          }
          *tail = n;
          tail = &n->next;
          skip_space(lx);
          if (lx->p < lx->end && *lx->p == ',') {
            lx->p++;
            skip_space(lx);
            continue;
          }
          if (lx->p < lx->end && *lx->p == ']') {
            lx->p++;
            break;
          }
          return syntax(lx, "expected ',' or ']' in a list");
        }
      }
    } else {
      xnn_pt_node* n = new_node(lx, key, line);
      if (!n) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory parsing prototxt");
      XNN_CHECK(parse_scalar(lx, n));
      *tail = n;
      tail = &n->next;
    }
    skip_space(lx);
    if (lx->p < lx->end && (*lx->p == ',' || *lx->p == ';')) lx->p++;
  }
}

xnn_status xnn_pt_parse(const char* text, size_t size, xnn_pt_doc** out) {
  *out = NULL;
  xnn_pt_doc* doc = calloc(1, sizeof(xnn_pt_doc));
  if (!doc) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory parsing prototxt");
  doc->root.key = "";
  doc->root.line = 1;
  lexer lx = {text, text + size, 1, doc, 0};
  xnn_status s = parse_fields(&lx, &doc->root, 0);
  if (s != XNN_OK) {
    xnn_pt_free(doc);
    return s;
  }
  *out = doc;
  return XNN_OK;
}

const xnn_pt_node* xnn_pt_root(const xnn_pt_doc* doc) { return &doc->root; }

void xnn_pt_free(xnn_pt_doc* doc) {
  if (!doc) return;
  for (block* b = doc->blocks; b;) {
    block* n = b->next;
    free(b);
    b = n;
  }
  free(doc);
}

xnn_status xnn_pt_validate(const xnn_pt_node* msg, const xnn_pt_schema* schema, int type) {
  const xnn_pt_message* m = &schema->messages[type];
  const char* name = schema->names + m->name;
  const xnn_pt_field* fields = schema->fields + m->first_field;
  for (const xnn_pt_node* f = msg->child; f; f = f->next) {
    const xnn_pt_field* fd = NULL;
    for (int i = 0; i < m->num_fields; i++)
      if (strcmp(schema->names + fields[i].name, f->key) == 0) fd = &fields[i];
    if (!fd)
      return xnn_error(XNN_ERROR_PARSE, "prototxt line %d: unknown field '%s' in %s (not in any supported Caffe fork)",
                       f->line, f->key, name);
    int is_msg = f->value == NULL;
    if (fd->kind >= 0) {
      if (!is_msg)
        return xnn_error(XNN_ERROR_PARSE, "prototxt line %d: field '%s' of %s is a message, expected '{'", f->line,
                         f->key, name);
      XNN_CHECK(xnn_pt_validate(f, schema, fd->kind));
    } else if (is_msg) {
      return xnn_error(XNN_ERROR_PARSE, "prototxt line %d: field '%s' of %s is a value, not a message", f->line,
                       f->key, name);
    } else if (fd->kind == XNN_PT_STRING && !f->is_string) {
      return xnn_error(XNN_ERROR_PARSE, "prototxt line %d: field '%s' of %s expects a quoted string", f->line,
                       f->key, name);
    } else if (fd->kind != XNN_PT_STRING && f->is_string) {
      return xnn_error(XNN_ERROR_PARSE, "prototxt line %d: field '%s' of %s expects a %s, not a string", f->line,
                       f->key, name, fd->kind == XNN_PT_ENUM ? "name" : "number");
    }
  }
  return XNN_OK;
}

const xnn_pt_node* xnn_pt_find(const xnn_pt_node* msg, const char* key) {
  if (!msg) return NULL;
  for (const xnn_pt_node* f = msg->child; f; f = f->next)
    if (strcmp(f->key, key) == 0) return f;
  return NULL;
}

const xnn_pt_node* xnn_pt_find_next(const xnn_pt_node* after, const char* key) {
  for (const xnn_pt_node* f = after->next; f; f = f->next)
    if (strcmp(f->key, key) == 0) return f;
  return NULL;
}

int xnn_pt_count(const xnn_pt_node* msg, const char* key) {
  int n = 0;
  if (msg)
    for (const xnn_pt_node* f = msg->child; f; f = f->next) n += strcmp(f->key, key) == 0;
  return n;
}

xnn_status xnn_pt_node_int(const xnn_pt_node* f, int64_t* out) {
  if (!f->value || f->is_string)
    return xnn_error(XNN_ERROR_PARSE, "prototxt line %d: field '%s' must be an integer", f->line, f->key);
  char* end;
  errno = 0;
  long long v = strtoll(f->value, &end, 0);
  if (*end != '\0' || errno)
    return xnn_error(XNN_ERROR_PARSE, "prototxt line %d: field '%s' must be an integer, got '%s'", f->line, f->key,
                     f->value);
  *out = v;
  return XNN_OK;
}

xnn_status xnn_pt_node_float(const xnn_pt_node* f, float* out) {
  if (!f->value || f->is_string)
    return xnn_error(XNN_ERROR_PARSE, "prototxt line %d: field '%s' must be a number", f->line, f->key);
  char* end;
  const char* s = f->value;
  double v = strtod(s, &end);
  if (end != s && (*end == 'f' || *end == 'F') && end[1] == '\0') end++;
  if (end == s || *end != '\0' || !isfinite(v))
    return xnn_error(XNN_ERROR_PARSE, "prototxt line %d: field '%s' must be a finite number, got '%s'", f->line,
                     f->key, s);
  *out = (float)v;
  return XNN_OK;
}

xnn_status xnn_pt_int(const xnn_pt_node* msg, const char* key, int64_t def, int64_t* out) {
  const xnn_pt_node* f = xnn_pt_find(msg, key);
  *out = def;
  return f ? xnn_pt_node_int(f, out) : XNN_OK;
}

xnn_status xnn_pt_float(const xnn_pt_node* msg, const char* key, float def, float* out) {
  const xnn_pt_node* f = xnn_pt_find(msg, key);
  *out = def;
  return f ? xnn_pt_node_float(f, out) : XNN_OK;
}

xnn_status xnn_pt_bool(const xnn_pt_node* msg, const char* key, int def, int* out) {
  const xnn_pt_node* f = xnn_pt_find(msg, key);
  *out = def;
  if (!f) return XNN_OK;
  if (f->value && !f->is_string) {
    if (!strcmp(f->value, "true") || !strcmp(f->value, "True") || !strcmp(f->value, "1")) return *out = 1, XNN_OK;
    if (!strcmp(f->value, "false") || !strcmp(f->value, "False") || !strcmp(f->value, "0")) return *out = 0, XNN_OK;
  }
  return xnn_error(XNN_ERROR_PARSE, "prototxt line %d: field '%s' must be true or false", f->line, key);
}

xnn_status xnn_pt_enum(const xnn_pt_node* msg, const char* key, const char* const* names, int def, int* out) {
  const xnn_pt_node* f = xnn_pt_find(msg, key);
  *out = def;
  if (!f) return XNN_OK;
  if (f->value && !f->is_string) {
    for (int i = 0; names[i]; i++)
      if (strcmp(names[i], f->value) == 0) return *out = i, XNN_OK;
    char* end;
    long v = strtol(f->value, &end, 10);
    int n = 0;
    while (names[n]) n++;
    if (*end == '\0' && v >= 0 && v < n) return *out = (int)v, XNN_OK;
  }
  return xnn_error(XNN_ERROR_UNSUPPORTED, "prototxt line %d: unsupported value '%s' for field '%s'", f->line,
                   f->value ? f->value : "{...}", key);
}

xnn_status xnn_pt_only(const xnn_pt_node* msg, const char* what, const char* const* allowed) {
  if (!msg) return XNN_OK;
  for (const xnn_pt_node* f = msg->child; f; f = f->next) {
    int ok = 0;
    for (int i = 0; allowed[i] && !ok; i++) ok = strcmp(allowed[i], f->key) == 0;
    if (!ok)
      return xnn_error(XNN_ERROR_UNSUPPORTED, "prototxt line %d: field '%s' of %s is not supported", f->line, f->key,
                       what);
  }
  return XNN_OK;
}

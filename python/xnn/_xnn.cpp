// pybind11 binding of the C API: thin handles over xnn_model / xnn_session. Errors become the
// exception classes of xnn.errors, chosen by status code.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "xnn/xnn.h"

extern "C" {
#include "core/testing.h"
#include "readers/readers.h"
#include "readers/xnn_coding.h"
#include "readers/xnn_ops.h"
}

namespace py = pybind11;

namespace {

// Names come from model files: never fail on bytes that are not UTF-8.
py::str text(const char* s) {
  return py::reinterpret_steal<py::str>(PyUnicode_DecodeUTF8(s, static_cast<Py_ssize_t>(strlen(s)), "backslashreplace"));
}

[[noreturn]] void raise(xnn_status status) {
  static const char* names[] = {"XnnError", "XnnError", "XnnIOError", "ModelFormatError", "UnsupportedError",
                                "ModelFormatError", "ShapeError", "XnnMemoryError"};
  const char* name = status >= 0 && status < 8 ? names[status] : "XnnError";
  py::object cls = py::module_::import("xnn.errors").attr(name);
  // A message cut at its size limit may end inside a UTF-8 sequence.
  py::str message = text(xnn_last_error());
  PyErr_SetObject(cls.ptr(), message.ptr());
  throw py::error_already_set();
}

void check(xnn_status status) {
  if (status != XNN_OK) raise(status);
}

std::vector<int64_t> dims(const xnn_shape& s) { return std::vector<int64_t>(s.dims, s.dims + s.ndim); }

xnn_shape to_shape(const std::vector<int64_t>& d) {
  if (d.empty() || d.size() > XNN_MAX_DIMS) throw py::value_error("a shape needs 1 to 8 dimensions");
  xnn_shape s{};
  s.ndim = static_cast<int32_t>(d.size());
  for (size_t i = 0; i < d.size(); i++) s.dims[i] = d[i];
  return s;
}

struct Model {
  std::shared_ptr<xnn_model> ptr;
  explicit Model(xnn_model* m) : ptr(m, xnn_model_free) {}

  py::list tensors(bool inputs) const {
    py::list out;
    const int32_t n = inputs ? xnn_model_num_inputs(ptr.get()) : xnn_model_num_outputs(ptr.get());
    for (int32_t i = 0; i < n; i++) {
      const char* name;
      xnn_shape s;
      check(inputs ? xnn_model_input(ptr.get(), i, &name, &s) : xnn_model_output(ptr.get(), i, &name, &s));
      out.append(py::make_tuple(text(name), dims(s)));
    }
    return out;
  }

  py::list layers() const {
    py::list out;
    for (int32_t i = 0; i < xnn_model_num_layers(ptr.get()); i++) {
      xnn_layer_info info;
      check(xnn_model_layer(ptr.get(), i, &info));
      out.append(py::make_tuple(text(info.name), text(info.type), info.num_params));
    }
    return out;
  }
};

struct Session {
  std::shared_ptr<xnn_model> model;  // keeps the model alive as long as the session
  xnn_session* ptr = nullptr;

  Session(const Model& m, int32_t num_threads) : model(m.ptr) {
    check(xnn_session_create(model.get(), num_threads, &ptr));
  }
  ~Session() { xnn_session_free(ptr); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void reshape_input(int32_t index, const std::vector<int64_t>& shape) {
    const xnn_shape s = to_shape(shape);
    check(xnn_session_reshape_input(ptr, index, &s));
  }

  void reshape(const std::vector<std::vector<int64_t>>& shapes) {
    if (shapes.size() != static_cast<size_t>(xnn_model_num_inputs(model.get())))
      throw py::value_error("reshape needs one shape per model input");
    std::vector<xnn_shape> s;
    for (const auto& d : shapes) s.push_back(to_shape(d));
    check(xnn_session_reshape(ptr, s.data()));
  }

  std::vector<int64_t> input_shape(int32_t index) const {
    xnn_shape s;
    check(xnn_session_input_shape(ptr, index, &s));
    return dims(s);
  }

  void set_input(int32_t index, py::array_t<float, py::array::c_style | py::array::forcecast> x) {
    check(xnn_session_set_input(ptr, index, x.data(), static_cast<size_t>(x.size())));
  }

  void run() {
    xnn_status st;
    {
      py::gil_scoped_release release;
      st = xnn_session_run(ptr);
    }
    check(st);
  }

  py::array_t<float> output(int32_t index) const {
    const float* data;
    xnn_shape s;
    check(xnn_session_output(ptr, index, &data, &s));
    py::array_t<float> out(dims(s));
    std::copy(data, data + out.size(), out.mutable_data());
    return out;
  }

  py::list layer_stats() const {
    py::list out;
    for (int32_t i = 0; i < xnn_model_num_layers(model.get()); i++) {
      xnn_layer_stats st;
      check(xnn_session_layer_stats(ptr, i, &st));
      py::dict d;
      d["name"] = text(st.name);
      d["type"] = text(st.type);
      d["shape"] = dims(st.output_shape);
      d["macs"] = st.macs;
      d["time_ms"] = st.last_time_ms;
      d["with_previous"] = st.with_previous != 0;
      out.append(d);
    }
    return out;
  }
};

// A reader's graph IR, before fusion and packing, as plain Python data: what xnn.graph.Graph is built
// from. Attributes are named and ordered by the .xnn operator table, so converting loses nothing.
py::dict describe_graph(xnn_graph* g) {
  struct guard {
    xnn_graph* g;
    ~guard() { xnn_graph_free(g); }
  } free_graph{g};
  py::list tensors, inputs, outputs, nodes;
  for (int32_t t = 0; t < g->num_tensors; t++) tensors.append(text(g->tensors[t].name));
  for (int32_t i = 0; i < g->num_inputs; i++) inputs.append(py::make_tuple(g->inputs[i], dims(g->input_shapes[i])));
  for (int32_t i = 0; i < g->num_outputs; i++) outputs.append(g->outputs[i]);
  for (int32_t i = 0; i < g->num_nodes; i++) {
    const xnn_node* n = &g->nodes[i];
    const xnn_op_schema* s = xnn_op_schema_of(n);
    if (!s) throw std::runtime_error("node without a .xnn operator");
    py::dict attrs;
    const char* base = reinterpret_cast<const char*>(&n->p);
    for (const xnn_attr_def* a = s->attrs; a->name; a++) {
      py::list v;
      if (a->kind == XNN_ATTR_INT) {
        for (int j = 0; j < a->count; j++) {
          int32_t x;
          std::memcpy(&x, base + a->offset + 4 * j, 4);
          v.append(x);
        }
      } else if (a->kind == XNN_ATTR_FLOAT) {
        for (int j = 0; j < a->count; j++) {
          float x;
          std::memcpy(&x, base + a->offset + 4 * j, 4);
          v.append(x);
        }
      } else if (a->kind == XNN_ATTR_COEFFS) {
        if (!n->p.eltwise.coeffs) continue;
        for (int32_t j = 0; j < n->num_inputs; j++) v.append(n->p.eltwise.coeffs[j]);
      } else if (a->kind == XNN_ATTR_POINTS) {
        if (!n->p.axis.num_points) continue;
        for (int32_t j = 0; j < n->p.axis.num_points; j++) v.append(n->p.axis.points[j]);
      } else if (a->kind == XNN_ATTR_FLOATS) {
        const xnn_float_list* l = reinterpret_cast<const xnn_float_list*>(base + a->offset);
        if (!l->count) continue;
        for (int32_t j = 0; j < l->count; j++) v.append(l->v[j]);
      } else if (a->kind == XNN_ATTR_ORDER) {
        for (int32_t j = 0; j < n->p.permute.ndim; j++) v.append(n->p.permute.order[j]);
      } else {
        for (int32_t j = 0; j < n->p.reshape.shape.ndim; j++) v.append(n->p.reshape.shape.dims[j]);
      }
      attrs[a->name] = v;
    }
    py::list weights;
    for (int32_t w = 0; w < n->num_weights; w++) {
      xnn_shape shape;
      xnn_op_weight_shape(n, w, &shape);
      int64_t known = 1;
      for (int32_t d = 0; d < shape.ndim; d++) known *= shape.dims[d] < 0 ? 1 : shape.dims[d];
      for (int32_t d = 0; d < shape.ndim; d++)
        if (shape.dims[d] < 0) shape.dims[d] = n->weight_size[w] / known;
      py::array_t<float> arr(dims(shape));
      if (static_cast<int64_t>(arr.size()) != n->weight_size[w]) throw std::runtime_error("weight size mismatch");
      std::copy(n->weights[w], n->weights[w] + n->weight_size[w], arr.mutable_data());
      weights.append(arr);
    }
    py::dict d;
    d["name"] = text(n->name);
    d["op"] = std::string(s->name);
    d["type"] = text(n->type);
    d["inputs"] = std::vector<int32_t>(n->inputs, n->inputs + n->num_inputs);
    d["outputs"] = std::vector<int32_t>(n->outputs, n->outputs + n->num_outputs);
    d["attrs"] = attrs;
    d["weights"] = weights;
    d["num_params"] = n->num_params;
    nodes.append(d);
  }
  py::dict out;
  out["tensors"] = tensors;
  out["inputs"] = inputs;
  out["layout"] = g->nhwc ? "NHWC" : "NCHW";
  out["outputs"] = outputs;
  out["nodes"] = nodes;
  return out;
}

}  // namespace

PYBIND11_MODULE(_xnn, m) {
  m.doc() = "xnn C core (use the xnn package, not this module)";
  m.def("version", &xnn_version);
  m.def("cpu_features", &xnn_cpu_features);
  m.def("available_isas", &xnn_available_isas);
  m.def(
      "load_caffe",
      [](const std::string& prototxt, py::object caffemodel) {
        xnn_model* model = nullptr;
        std::string weights = caffemodel.is_none() ? std::string() : caffemodel.cast<std::string>();
        xnn_status st;
        {
          py::gil_scoped_release release;
          st = xnn_model_load_caffe(prototxt.c_str(), caffemodel.is_none() ? nullptr : weights.c_str(), &model);
        }
        check(st);
        return Model(model);
      },
      py::arg("prototxt"), py::arg("caffemodel") = py::none());
  m.def(
      "load_caffe_memory",
      [](const py::bytes& prototxt, py::object caffemodel) {
        xnn_model* model = nullptr;
        std::string text = prototxt;
        std::string bin = caffemodel.is_none() ? std::string() : caffemodel.cast<py::bytes>().cast<std::string>();
        check(xnn_model_load_caffe_memory(text.data(), text.size(), caffemodel.is_none() ? nullptr : bin.data(),
                                          bin.size(), &model));
        return Model(model);
      },
      py::arg("prototxt"), py::arg("caffemodel") = py::none());

  m.def(
      "load_xnn",
      [](const std::string& path) {
        xnn_model* model = nullptr;
        xnn_status st;
        {
          py::gil_scoped_release release;
          st = xnn_model_load(path.c_str(), &model);
        }
        check(st);
        return Model(model);
      },
      py::arg("path"));
  m.def(
      "load_xnn_memory",
      [](const py::bytes& data) {
        xnn_model* model = nullptr;
        std::string bin = data;
        check(xnn_model_load_memory(bin.data(), bin.size(), &model));
        return Model(model);
      },
      py::arg("data"));
  m.def(
      "read_caffe_graph",
      [](const py::bytes& prototxt, py::object caffemodel) {
        std::string text = prototxt;
        std::string bin = caffemodel.is_none() ? std::string() : caffemodel.cast<py::bytes>().cast<std::string>();
        xnn_graph g;
        check(xnn_read_caffe(text.data(), text.size(), caffemodel.is_none() ? nullptr : bin.data(), bin.size(), &g));
        return describe_graph(&g);
      },
      py::arg("prototxt"), py::arg("caffemodel") = py::none());
  m.def("float_attrs", []() {
    // Operator -> names of its attributes stored as floats (the others are ints), from the .xnn table.
    py::dict out;
    for (size_t i = 0; const xnn_op_schema* s = xnn_op_schema_at(i); i++) {
      py::list names;
      for (const xnn_attr_def* a = s->attrs; a->name; a++)
        if (a->kind == XNN_ATTR_FLOAT || a->kind == XNN_ATTR_COEFFS || a->kind == XNN_ATTR_FLOATS) names.append(a->name);
      out[s->name] = names;
    }
    return out;
  });
  m.def(
      "read_xnn_graph",
      [](const py::bytes& data) {
        std::string bin = data;
        xnn_graph g;
        check(xnn_read_xnn(bin.data(), bin.size(), &g));
        return describe_graph(&g);
      },
      py::arg("data"));

  // Kernel testers: each calls one kernel family of a named kernel set (see tests/test_kernels.py).
  py::module_ t = m.def_submodule("testing", "kernel families, for the kernel testers");
  using farr = py::array_t<float, py::array::c_style | py::array::forcecast>;
  auto act = [](float slope, float lo, float hi) { return xnn_f32_act_params{slope, lo, hi}; };
  t.def(
      "gemm",
      [act](const std::string& isa, farr a, farr b, py::object bias, float slope, float lo, float hi, size_t kc,
            bool in_place, py::object residual) -> py::object {
        const size_t m = a.shape(0), k = a.shape(1), n = b.shape(1);
        if (b.shape(0) != static_cast<py::ssize_t>(k)) throw py::value_error("a and b do not multiply");
        farr c(std::vector<py::ssize_t>{static_cast<py::ssize_t>(m), static_cast<py::ssize_t>(n)});
        farr bv = bias.is_none() ? farr() : bias.cast<farr>();
        farr rv = residual.is_none() ? farr() : residual.cast<farr>();
        if (!residual.is_none() && rv.size() != static_cast<py::ssize_t>(m * n))
          throw py::value_error("residual is not m x n");
        const xnn_f32_act_params p = act(slope, lo, hi);
        const int r = xnn_testing_gemm(isa.c_str(), m, n, k, kc, in_place, a.data(), b.data(),
                                       bias.is_none() ? nullptr : bv.data(), residual.is_none() ? nullptr : rv.data(),
                                       &p, c.mutable_data());
        if (r < 0) throw std::bad_alloc();
        return r ? py::object(c) : py::object(py::none());
      },
      py::arg("isa"), py::arg("a"), py::arg("b"), py::arg("bias"), py::arg("slope"), py::arg("lo"), py::arg("hi"),
      py::arg("kc"), py::arg("in_place"), py::arg("residual") = py::none());
  // Rows [oy0, oy1) of the output (oy1 < 0: to the end); the rows outside stay NaN.
  t.def(
      "dwconv3x3p1",
      [act](const std::string& isa, size_t stride, farr in, farr w, float bias, float slope, float lo, float hi,
            size_t oy0, py::ssize_t oy1) -> py::object {
        if (in.ndim() != 2 || w.size() != 9 || (stride != 1 && stride != 2)) throw py::value_error("bad arguments");
        const size_t ih = in.shape(0), iw = in.shape(1);
        if (ih == 0 || iw == 0) throw py::value_error("empty plane");
        const size_t oh = (ih - 1) / stride + 1, ow = (iw - 1) / stride + 1;
        const size_t end = oy1 < 0 ? oh : static_cast<size_t>(oy1);
        if (oy0 > end || end > oh) throw py::value_error("row range outside the output");
        farr out(std::vector<py::ssize_t>{static_cast<py::ssize_t>(oh), static_cast<py::ssize_t>(ow)});
        std::fill(out.mutable_data(), out.mutable_data() + oh * ow, std::nanf(""));
        const xnn_f32_act_params p = act(slope, lo, hi);
        const int r = xnn_testing_dwconv3x3p1(isa.c_str(), stride, ih, iw, in.data(), w.data(), bias, &p,
                                              out.mutable_data(), oy0, end);
        return r ? py::object(out) : py::object(py::none());
      },
      py::arg("isa"), py::arg("stride"), py::arg("in"), py::arg("w"), py::arg("bias"), py::arg("slope"),
      py::arg("lo"), py::arg("hi"), py::arg("oy0") = 0, py::arg("oy1") = -1);
  t.def("conv_chw_s2", [act](const std::string& isa, farr in, farr w, py::object bias, size_t pad_top,
                             size_t pad_left, float slope, float lo, float hi) -> py::object {
    if (in.ndim() != 3 || w.ndim() != 4 || w.shape(1) != in.shape(0)) throw py::value_error("bad arguments");
    const size_t geometry[7] = {static_cast<size_t>(in.shape(0)), static_cast<size_t>(in.shape(1)),
                                static_cast<size_t>(in.shape(2)), static_cast<size_t>(w.shape(2)),
                                static_cast<size_t>(w.shape(3)), pad_top, pad_left};
    const size_t oc = w.shape(0);
    if (geometry[4] != 3 && geometry[4] != 5 && geometry[4] != 7) throw py::value_error("kw must be 3, 5 or 7");
    if (geometry[1] + 2 * pad_top < geometry[3] || geometry[2] + 2 * pad_left < geometry[4])
      throw py::value_error("image smaller than the kernel");
    const size_t oh = (geometry[1] + 2 * pad_top - geometry[3]) / 2 + 1;
    const size_t ow = (geometry[2] + 2 * pad_left - geometry[4]) / 2 + 1;
    farr out(std::vector<py::ssize_t>{static_cast<py::ssize_t>(oc), static_cast<py::ssize_t>(oh),
                                      static_cast<py::ssize_t>(ow)});
    farr bv = bias.is_none() ? farr() : bias.cast<farr>();
    const xnn_f32_act_params p = act(slope, lo, hi);
    const int r = xnn_testing_conv_chw_s2(isa.c_str(), geometry, oc, in.data(), w.data(),
                                          bias.is_none() ? nullptr : bv.data(), &p, out.mutable_data());
    if (r < 0) throw std::bad_alloc();
    return r ? py::object(out) : py::object(py::none());
  });
  t.def("dwconv3x3", [act](const std::string& isa, size_t stride, size_t oh, size_t ow, farr in, farr w, float bias,
                           float slope, float lo, float hi) -> py::object {
    farr out(std::vector<py::ssize_t>{static_cast<py::ssize_t>(oh), static_cast<py::ssize_t>(ow)});
    const xnn_f32_act_params p = act(slope, lo, hi);
    const int r = xnn_testing_dwconv3x3(isa.c_str(), stride, oh, ow, in.data(), in.shape(1), w.data(), bias, &p,
                                        out.mutable_data());
    return r ? py::object(out) : py::object(py::none());
  });
  t.def("families", [](const std::string& isa) { return std::string(xnn_testing_families(isa.c_str())); });
  t.def("gemv", [](const std::string& isa, farr a, farr x) -> py::object {
    const size_t m = a.shape(0), k = a.shape(1);
    if (x.size() != static_cast<py::ssize_t>(k)) throw py::value_error("a and x do not multiply");
    farr y(std::vector<py::ssize_t>{static_cast<py::ssize_t>(m)});
    const int r = xnn_testing_gemv(isa.c_str(), m, k, a.data(), x.data(), y.mutable_data());
    if (r < 0) throw std::bad_alloc();
    return r ? py::object(y) : py::object(py::none());
  });
  t.def("fc", [act](const std::string& isa, farr x, farr w, py::object bias, float slope, float lo,
                    float hi) -> py::object {
    const size_t batch = x.shape(0), k = x.shape(1), n = w.shape(0);
    if (w.shape(1) != static_cast<py::ssize_t>(k)) throw py::value_error("x and w do not multiply");
    farr bv = bias.is_none() ? farr() : bias.cast<farr>();
    if (!bias.is_none() && bv.size() != static_cast<py::ssize_t>(n)) throw py::value_error("bias size");
    farr y(std::vector<py::ssize_t>{static_cast<py::ssize_t>(batch), static_cast<py::ssize_t>(n)});
    const xnn_f32_act_params p = act(slope, lo, hi);
    const int r = xnn_testing_fc(isa.c_str(), batch, n, k, x.data(), w.data(), bias.is_none() ? nullptr : bv.data(),
                                 &p, y.mutable_data());
    return r ? py::object(y) : py::object(py::none());
  });
  t.def("lstm_cell", [](const std::string& isa, farr gates, farr c, float lo, float hi) -> py::object {
    const size_t h = c.size();
    if (gates.size() != static_cast<py::ssize_t>(4 * h)) throw py::value_error("gates must hold 4 * len(c) values");
    farr c_out(std::vector<py::ssize_t>{static_cast<py::ssize_t>(h)}), h_out(c_out.request().shape);
    std::copy(c.data(), c.data() + h, c_out.mutable_data());
    const int r = xnn_testing_lstm_cell(isa.c_str(), h, gates.data(), c_out.mutable_data(), h_out.mutable_data(), lo, hi);
    return r ? py::object(py::make_tuple(c_out, h_out)) : py::object(py::none());
  });
  t.def("gemm_tiles", [](const std::string& isa) { return std::string(xnn_testing_gemm_tiles(isa.c_str())); });
  t.def("dwconv", [act](const std::string& isa, farr in, farr w, float bias, std::vector<size_t> geo, float slope,
                        float lo, float hi) -> py::object {
    if (geo.size() != 12) throw py::value_error("geometry: ih iw oh ow kh kw sh sw dh dw pad_top pad_left");
    farr out(std::vector<py::ssize_t>{static_cast<py::ssize_t>(geo[2]), static_cast<py::ssize_t>(geo[3])});
    const xnn_f32_act_params p = act(slope, lo, hi);
    const int r = xnn_testing_dwconv(isa.c_str(), geo.data(), in.data(), w.data(), bias, &p, out.mutable_data());
    return r ? py::object(out) : py::object(py::none());
  });
  /* y = x + c by the set's vaddc, into n + 16 floats whose last 16 hold 7.0 before the call. */
  t.def("vaddc", [](const std::string& isa, farr x, float c, bool in_place) -> py::object {
    const size_t n = static_cast<size_t>(x.size());
    farr y(std::vector<py::ssize_t>{static_cast<py::ssize_t>(n + 16)});
    std::fill(y.mutable_data(), y.mutable_data() + y.size(), 7.0f);
    const int r = xnn_testing_vaddc(isa.c_str(), n, x.data(), c, y.mutable_data(), in_place ? 1 : 0);
    return r ? py::object(y) : py::object(py::none());
  });
  /* y by the set's LRN kernel over the rows of a (taps, stride) array, the first n floats of each, into
   * n + 16 floats whose last 16 hold 7.0 before the call. */
  t.def("lrn", [](const std::string& isa, farr rows, farr x, float k, float alpha, float beta) -> py::object {
    const size_t n = static_cast<size_t>(x.size());
    if (rows.ndim() != 2 || static_cast<size_t>(rows.shape(1)) < n) throw py::value_error("bad arguments");
    farr y(std::vector<py::ssize_t>{static_cast<py::ssize_t>(n + 16)});
    std::fill(y.mutable_data(), y.mutable_data() + y.size(), 7.0f);
    const int r = xnn_testing_lrn(isa.c_str(), n, static_cast<size_t>(rows.shape(0)), rows.data(),
                                  static_cast<size_t>(rows.shape(1)), x.data(), k, alpha, beta, y.mutable_data());
    return r ? py::object(y) : py::object(py::none());
  });
  /* in (ih x iw) zero-padded into rows x stride floats by xnn_pad_plane, into a buffer of NaN with a row of
   * NaN after it (returned whole: the caller checks that nothing past the plane was written). */
  t.def("pad_plane", [](farr in, size_t rows, size_t stride, size_t top, size_t left) -> farr {
    if (in.ndim() != 2) throw py::value_error("in must be 2-D");
    farr out(std::vector<py::ssize_t>{static_cast<py::ssize_t>(rows + 1), static_cast<py::ssize_t>(stride)});
    std::fill(out.mutable_data(), out.mutable_data() + out.size(), NAN);
    xnn_testing_pad_plane(out.mutable_data(), rows, stride, in.data(), static_cast<size_t>(in.shape(0)),
                          static_cast<size_t>(in.shape(1)), top, left);
    return out;
  });
  t.def("maxpool", [](const std::string& isa, size_t oh, size_t ow, size_t kh, size_t kw, size_t stride,
                      farr in) -> py::object {
    farr out(std::vector<py::ssize_t>{static_cast<py::ssize_t>(oh), static_cast<py::ssize_t>(ow)});
    const int r = xnn_testing_maxpool(isa.c_str(), oh, ow, kh, kw, stride, in.data(), in.shape(1),
                                      out.mutable_data());
    return r ? py::object(out) : py::object(py::none());
  });
  /* tile 4: F(4x4, 3x3), tile 2: F(2x2, 3x3); V and the output of up to 16 tiles. */
  t.def("winograd", [act](const std::string& isa, size_t tile, size_t tiles, farr in, farr m, float bias, float slope,
                          float lo, float hi, size_t rows, size_t cols) -> py::object {
    const py::ssize_t e = static_cast<py::ssize_t>((tile + 2) * (tile + 2)), w = static_cast<py::ssize_t>(16 * tile);
    farr v(std::vector<py::ssize_t>{e, 16});
    farr out(std::vector<py::ssize_t>{static_cast<py::ssize_t>(tile), w});
    std::fill(v.mutable_data(), v.mutable_data() + v.size(), 0.0f);
    std::fill(out.mutable_data(), out.mutable_data() + out.size(), 0.0f);
    const xnn_f32_act_params p = act(slope, lo, hi);
    const int r = xnn_testing_winograd(isa.c_str(), tile, tiles, in.data(), in.shape(1), v.mutable_data(), m.data(),
                                       bias, &p, out.mutable_data(), static_cast<size_t>(w), rows, cols);
    return r ? py::object(py::make_tuple(v, out)) : py::object(py::none());
  });
  /* The two-tile-row F(4x4, 3x3) input transform: V (36 x 16) of `tiles` tiles from each patch, or None. */
  t.def("winograd_rows2", [](const std::string& isa, size_t tiles, farr in0, farr in1) -> py::object {
    if (in0.ndim() != 2 || in1.ndim() != 2 || in0.shape(0) != 6 || in1.shape(0) != 6 || in0.shape(1) != in1.shape(1) ||
        tiles < 1 || tiles > 7 || in0.shape(1) < 32)
      throw py::value_error("need two 6 x (at least 32) patches and 1 to 7 tiles");
    farr v(std::vector<py::ssize_t>{36, 16});
    std::fill(v.mutable_data(), v.mutable_data() + v.size(), 0.0f);
    const int r =
        xnn_testing_winograd_rows2(isa.c_str(), tiles, in0.data(), in1.data(), in0.shape(1), v.mutable_data());
    return r ? py::object(v) : py::object(py::none());
  });
  /* The F(4x4, 3x3) output transform of whole tile rows: the 4 * tile_rows x 4 * tiles_x output (zeros where
   * not written), or None. */
  t.def("winograd_output_rows", [act](const std::string& isa, size_t tiles_x, size_t tile_rows, farr m, float bias,
                                      float slope, float lo, float hi, size_t rows, size_t cols) -> py::object {
    if (m.ndim() != 2 || m.shape(0) != 36 || m.shape(1) != 16 || tiles_x < 1 || tile_rows < 1 ||
        tiles_x * tile_rows > 16 || rows < 1 || rows > 4 || cols < 1 || cols > 4 * tiles_x)
      throw py::value_error("need M of 36 x 16, tiles_x * tile_rows <= 16, 1 <= rows <= 4, 1 <= cols <= 4 * tiles_x");
    const py::ssize_t w = static_cast<py::ssize_t>(4 * tiles_x + 3);
    farr out(std::vector<py::ssize_t>{static_cast<py::ssize_t>(4 * tile_rows), w});
    std::fill(out.mutable_data(), out.mutable_data() + out.size(), 0.0f);
    const xnn_f32_act_params p = act(slope, lo, hi);
    const int r = xnn_testing_winograd_output_rows(isa.c_str(), tiles_x, tile_rows, m.data(), bias, &p,
                                                   out.mutable_data(), static_cast<size_t>(w), rows, cols);
    return r ? py::object(out) : py::object(py::none());
  });
  t.def("im2col_panel", [](const std::string& isa, size_t len, farr src, std::vector<size_t> offsets,
                           size_t stride, size_t dst_stride) -> py::object {
    const size_t kc = offsets.size();
    if (len == 0 || dst_stride < len) throw py::value_error("need 0 < len <= dst_stride");
    for (size_t o : offsets)
      if (o + (len - 1) * stride >= static_cast<size_t>(src.size())) throw py::value_error("offset past the source");
    farr dst(std::vector<py::ssize_t>{static_cast<py::ssize_t>(kc), static_cast<py::ssize_t>(dst_stride)});
    std::fill(dst.mutable_data(), dst.mutable_data() + dst.size(), -1.0f);
    const int r = xnn_testing_im2col_panel(isa.c_str(), kc, len, src.data(), offsets.data(), stride,
                                           dst.mutable_data(), dst_stride);
    return r ? py::object(dst) : py::object(py::none());
  });

  t.def("spmm", [act](const std::string& isa, int variant, size_t pixels, farr in, farr w, py::object bias,
                      py::object residual, size_t out_stride, float slope, float lo, float hi) -> py::object {
    if (in.ndim() != 2 || w.ndim() != 2 || w.shape(1) != in.shape(0)) throw py::value_error("w and in do not multiply");
    const size_t channels = w.shape(0), in_stride = in.shape(1);
    if (pixels > in_stride || pixels > out_stride) throw py::value_error("need pixels <= both strides");
    farr bv = bias.is_none() ? farr() : bias.cast<farr>();
    farr rv = residual.is_none() ? farr() : residual.cast<farr>();
    if (!bias.is_none() && static_cast<size_t>(bv.size()) != channels) throw py::value_error("one bias per channel");
    if (!residual.is_none() && static_cast<size_t>(rv.size()) != channels * out_stride)
      throw py::value_error("the residual is laid out as the output");
    farr out(std::vector<py::ssize_t>{static_cast<py::ssize_t>(channels), static_cast<py::ssize_t>(out_stride)});
    std::fill(out.mutable_data(), out.mutable_data() + out.size(), std::nanf(""));
    const xnn_f32_act_params p = act(slope, lo, hi);
    if (variant < 0 || variant > 2) throw py::value_error("variant: 0 tile, 1 wide, 2 blocked");
    const int r = xnn_testing_spmm(isa.c_str(), variant, pixels, channels, w.shape(1), in.data(), in_stride, w.data(),
                                   bias.is_none() ? nullptr : bv.data(), residual.is_none() ? nullptr : rv.data(), &p,
                                   out.mutable_data(), out_stride);
    if (r < 0) throw std::bad_alloc();
    return r ? py::object(out) : py::object(py::none());
  });

  // Symbol coding of the .xnn format (csrc/readers/xnn_coding.h), for tests/test_format_coding.py. None is an
  // absent bytes field.
  struct Span {
    const uint8_t* data = nullptr;
    size_t size = 0;
  };
  auto span = [](const py::object& o) {
    Span s;
    if (o.is_none()) return s;
    char* p;
    Py_ssize_t n;
    if (PyBytes_AsStringAndSize(o.ptr(), &p, &n) != 0) throw py::error_already_set();
    s.data = reinterpret_cast<const uint8_t*>(p);
    s.size = static_cast<size_t>(n);
    return s;
  };
  t.def("crc32", [span](py::bytes data, uint32_t crc) {
    const Span s = span(data);
    return xnn_crc32(crc, s.data, s.size);
  }, py::arg("data"), py::arg("crc") = 0);
  t.def("decode_stream", [span](uint64_t count, uint32_t bits, py::object packed, py::object code_lengths,
                                py::object huffman) {
    const Span p = span(packed), c = span(code_lengths), h = span(huffman);
    const xnn_stream_view v{count, bits, p.data, p.size, c.data, c.size, h.data, h.size};
    py::array_t<uint16_t> out(static_cast<py::ssize_t>(count));
    check(xnn_stream_decode(&v, out.mutable_data()));
    return out;
  });
  t.def("decode_gaps", [](py::array_t<uint16_t, py::array::c_style | py::array::forcecast> symbols, uint32_t bits,
                          uint64_t nnz, uint64_t numel) {
    py::array_t<uint64_t> out(static_cast<py::ssize_t>(nnz));
    check(xnn_gaps_decode(symbols.data(), static_cast<uint64_t>(symbols.size()), bits, nnz, numel,
                          out.mutable_data()));
    return out;
  });
  t.def("f16_decode", [span](py::bytes data) {
    const Span s = span(data);
    if (s.size % 2) throw py::value_error("float16 data of an odd number of bytes");
    py::array_t<float> out(static_cast<py::ssize_t>(s.size / 2));
    check(xnn_f16_decode(s.data, s.size / 2, out.mutable_data()));
    return out;
  });

  py::class_<Model>(m, "Model")
      .def_property_readonly("inputs", [](const Model& self) { return self.tensors(true); })
      .def_property_readonly("outputs", [](const Model& self) { return self.tensors(false); })
      .def_property_readonly("layers", &Model::layers)
      .def_property_readonly("isa", [](const Model& self) { return std::string(xnn_model_isa(self.ptr.get())); })
      .def_property_readonly("input_layout",
                             [](const Model& self) { return std::string(xnn_model_input_layout(self.ptr.get())); });

  py::class_<Session>(m, "Session")
      .def(py::init<const Model&, int32_t>(), py::arg("model"), py::arg("num_threads") = 0)
      .def("reshape_input", &Session::reshape_input)
      .def("reshape", &Session::reshape)
      .def("input_shape", &Session::input_shape)
      .def("set_input", &Session::set_input)
      .def("run", &Session::run)
      .def("output", &Session::output)
      .def("layer_stats", &Session::layer_stats)
      .def("set_profiling", [](Session& self, bool on) { check(xnn_session_set_profiling(self.ptr, on)); })
      .def("set_num_threads", [](Session& self, int32_t n) { check(xnn_session_set_num_threads(self.ptr, n)); })
      .def_property_readonly("num_threads", [](const Session& self) { return xnn_session_num_threads(self.ptr); })
      .def_property_readonly("arena_bytes", [](const Session& self) { return xnn_session_arena_bytes(self.ptr); });
}

/// @file scextract_module.cpp
/// @brief The Python extension `scextract._scextract`: the public C++ API
/// (include/scextract/) with numpy arrays in and out. No logic of its own: arrays are
/// checked, viewed (never copied whole) and handed to the library with the GIL released.

#include "scextract/scextract.hpp"

#include "scextract/api/feature_choice.hpp"
#include "scextract/api/input_cells.hpp"
#include "scextract/core/array_view_reader.hpp"
#include "scextract/core/error.hpp"
#include "scextract/preprocess/gene_alignment.hpp"

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <memory>
#include <variant>

#include <fmt/format.h>

namespace nb = nanobind;
using namespace nb::literals;

namespace {

using AnyArray = nb::ndarray<nb::ro, nb::device::cpu>;

std::string dtype_name(const AnyArray& a) {
    const auto d = a.dtype();
    const char* kind = d.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::Float)  ? "float"
                       : d.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::Int) ? "int"
                       : d.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::UInt) ? "uint"
                                                                                           : "other";
    return fmt::format("{}{}", kind, d.bits);
}

template <class T> bool is(const AnyArray& a) { return a.dtype() == nb::dtype<T>(); }

/// A 1-D contiguous array, or a TypeError naming @p what.
void require_vector(const AnyArray& a, const char* what) {
    if (a.ndim() != 1) throw nb::type_error(fmt::format("{} must be a 1-D array, not {}-D", what, a.ndim()).c_str());
    if (a.shape(0) > 1 && a.stride(0) != 1)
        throw nb::type_error(fmt::format("{} must be contiguous (pass numpy.ascontiguousarray({}))", what, what).c_str());
}

/// The index and pointer arrays of scipy.sparse: int32 or int64.
template <class Fn> auto with_index_type(const AnyArray& a, const char* what, Fn&& fn) {
    if (is<std::int32_t>(a)) return fn(static_cast<const std::int32_t*>(a.data()));
    if (is<std::int64_t>(a)) return fn(static_cast<const std::int64_t*>(a.data()));
    throw nb::type_error(fmt::format("{} must be int32 or int64 (scipy.sparse's index dtypes), not {}", what, dtype_name(a)).c_str());
}

/// Values: float32, float64 or an integer count type. float16 and others are refused:
/// counts above 2048 are not exact in float16.
template <class Fn> auto with_value_type(const AnyArray& a, const char* what, Fn&& fn) {
    if (is<float>(a)) return fn(static_cast<const float*>(a.data()));
    if (is<double>(a)) return fn(static_cast<const double*>(a.data()));
    if (is<std::int32_t>(a)) return fn(static_cast<const std::int32_t*>(a.data()));
    if (is<std::int64_t>(a)) return fn(static_cast<const std::int64_t*>(a.data()));
    if (is<std::uint16_t>(a)) return fn(static_cast<const std::uint16_t*>(a.data()));
    if (is<std::uint32_t>(a)) return fn(static_cast<const std::uint32_t*>(a.data()));
    throw nb::type_error(fmt::format("{} must be float32, float64, int32, int64, uint16 or uint32, not {} "
                                     "(pass X.astype(numpy.float32))",
                                     what, dtype_name(a))
                             .c_str());
}

/// A reader viewing scipy CSR arrays (or a dense array) in place.
std::unique_ptr<scx::RowBlockReader> csr_reader(const AnyArray& data, const AnyArray& indices, const AnyArray& indptr,
                                                std::int64_t n_rows, std::int64_t n_cols) {
    require_vector(data, "X.data");
    require_vector(indices, "X.indices");
    require_vector(indptr, "X.indptr");
    if (static_cast<std::int64_t>(indptr.shape(0)) != n_rows + 1)
        throw scx::Error(fmt::format("X: indptr has {} entries for {} rows (want {})", indptr.shape(0), n_rows, n_rows + 1));
    if (data.shape(0) != indices.shape(0))
        throw scx::Error(fmt::format("X: data has {} entries but indices {}", data.shape(0), indices.shape(0)));
    return with_value_type(data, "X.data", [&](auto* v) {
        return with_index_type(indices, "X.indices", [&](auto* i) {
            return with_index_type(indptr, "X.indptr", [&](auto* p) -> std::unique_ptr<scx::RowBlockReader> {
                using V = std::remove_cv_t<std::remove_pointer_t<decltype(v)>>;
                using I = std::remove_cv_t<std::remove_pointer_t<decltype(i)>>;
                using P = std::remove_cv_t<std::remove_pointer_t<decltype(p)>>;
                if (n_rows > 0 && static_cast<std::int64_t>(p[n_rows]) != static_cast<std::int64_t>(data.shape(0)))
                    throw scx::Error(fmt::format("X: indptr ends at {} but data has {} entries", p[n_rows], data.shape(0)));
                return std::make_unique<scx::CsrArraysReader<V, I, P>>(v, i, p, n_rows, n_cols, "X");
            });
        });
    });
}

std::unique_ptr<scx::RowBlockReader> dense_reader(const AnyArray& x) {
    if (x.ndim() != 2) throw nb::type_error(fmt::format("X must be 2-D (cells x genes), not {}-D", x.ndim()).c_str());
    return with_value_type(x, "X", [&](auto* v) -> std::unique_ptr<scx::RowBlockReader> {
        using V = std::remove_cv_t<std::remove_pointer_t<decltype(v)>>;
        return std::make_unique<scx::DenseArrayReader<V>>(v, static_cast<std::int64_t>(x.shape(0)), static_cast<std::int64_t>(x.shape(1)),
                                                          x.stride(0), x.stride(1), "X");
    });
}

/// A numpy array that owns a std::vector's buffer.
template <class T> nb::ndarray<nb::numpy, T> owned_array(std::vector<T>&& v, std::vector<std::size_t> shape) {
    auto* held = new std::vector<T>(std::move(v));
    nb::capsule owner(held, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
    return nb::ndarray<nb::numpy, T>(held->data(), shape.size(), shape.data(), owner);
}

nb::object element_to_python(const scx::Element& e);

nb::object ndarray_to_python(const scx::NdArray& a) {
    const bool scalar = a.shape.empty();
    std::vector<std::size_t> shape(a.shape.begin(), a.shape.end());
    auto numbers = [&](auto tag) -> nb::object {
        using T = decltype(tag);
        const T* s = a.data<T>();
        if (scalar) return nb::cast(s[0]);
        return nb::cast(owned_array(std::vector<T>(s, s + a.size()), shape));
    };
    switch (a.dtype) {
    case scx::DType::float32: return numbers(float{});
    case scx::DType::float64: return numbers(double{});
    case scx::DType::int32: return numbers(std::int32_t{});
    case scx::DType::int64: return numbers(std::int64_t{});
    case scx::DType::bool_:
        if (scalar) return nb::cast(a.data<std::uint8_t>()[0] != 0);
        // a numpy bool array (obs['scx_ood'] as anndata stores it): the 0 / 1 bytes viewed as bool
        return numbers(std::uint8_t{}).attr("view")(nb::module_::import_("numpy").attr("bool_"));
    default: throw scx::Error("a value of uns this module does not convert");
    }
}

nb::object element_to_python(const scx::Element& e) {
    return std::visit(
        [](const auto& v) -> nb::object {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, scx::NdArray>) return ndarray_to_python(v);
            else if constexpr (std::is_same_v<T, scx::StringArray>) {
                if (v.shape.empty()) return nb::cast(v.values.at(0));
                return nb::cast(v.values);
            } else if constexpr (std::is_same_v<T, scx::Mapping>) {
                nb::dict d;
                for (const auto& [k, x] : v.items) d[k.c_str()] = element_to_python(x);
                return d;
            } else throw scx::Error("a value of uns this module does not convert");
        },
        e.value);
}

/// obs columns as (name, kind, values, categories): kind is "numeric" or "categorical"
/// (values are then int32 codes, -1 for none).
nb::list obs_to_python(std::vector<std::pair<std::string, scx::Column>>& obs) {
    nb::list out;
    for (auto& [name, column] : obs) {
        if (const auto* c = std::get_if<scx::Categorical>(&column))
            out.append(nb::make_tuple(name, "categorical", ndarray_to_python(c->codes),
                                      nb::cast(std::get<scx::StringArray>(c->categories).values)));
        else if (const auto* a = std::get_if<scx::NdArray>(&column))
            out.append(nb::make_tuple(name, "numeric", ndarray_to_python(*a), nb::none()));
        else throw scx::Error(fmt::format("apply: obs column '{}' of an unexpected kind", name));
    }
    return out;
}

nb::dict apply_result_to_python(scx::ApplyResult&& r) {
    nb::dict d;
    const auto n = static_cast<std::size_t>(r.latent.rows()), k = static_cast<std::size_t>(r.latent.cols());
    d["latent"] = owned_array(std::vector<float>(r.latent.data(), r.latent.data() + r.latent.size()), {n, k});
    d["obs"] = obs_to_python(r.obs);
    d["uns"] = element_to_python(scx::Element{r.uns});
    d["panel_missing"] = r.panel.missing;
    return d;
}

scx::ApplyOptions apply_options(double max_missing, std::int64_t chunk_rows, bool exact_features, bool check_counts, int threads,
                                const std::string& algorithm_path, const std::string& matrix_source) {
    scx::ApplyOptions o;
    o.max_missing_fraction = max_missing;
    o.chunk_rows = chunk_rows;
    o.exact_features = exact_features;
    o.check_counts = check_counts;
    o.threads = threads;
    o.algorithm_path = algorithm_path;
    o.matrix_source = matrix_source;
    return o;
}

nb::dict run_apply(const scx::Algorithm& algorithm, scx::RowBlockReader& reader, const std::vector<std::string>& symbols,
                   const scx::ApplyOptions& o) {
    if (static_cast<std::int64_t>(symbols.size()) != reader.n_cols())
        throw scx::Error(fmt::format("X has {} genes but {} gene symbols were given", reader.n_cols(), symbols.size()));
    scx::ApplyResult r;
    {
        nb::gil_scoped_release release;
        r = scx::apply_algorithm_to(algorithm, reader, symbols, o);
    }
    return apply_result_to_python(std::move(r));
}

} // namespace

NB_MODULE(_scextract, m) {
    m.doc() = "scextract's C++ library (include/scextract/); use the functions of the scextract package.";
    nb::exception<scx::Error>(m, "Error", PyExc_RuntimeError);
    m.attr("__version__") = scx::version();

    nb::class_<scx::Algorithm>(m, "Algorithm", "An algorithm file (.scx) read into memory.")
        .def_prop_ro("latent_dim", &scx::Algorithm::latent_dim)
        .def_prop_ro("panel", [](const scx::Algorithm& a) { return a.features.genes; })
        .def_prop_ro("features", [](const scx::Algorithm& a) { return a.features.description; })
        .def_prop_ro("target_sum", [](const scx::Algorithm& a) { return a.target_sum; })
        .def_prop_ro("readouts",
                     [](const scx::Algorithm& a) {
                         std::vector<std::tuple<std::string, std::string, std::vector<std::string>>> out;
                         for (const auto& r : a.readouts) out.emplace_back(r.task, r.kind, r.classes);
                         return out;
                     })
        .def_prop_ro("provenance_json", [](const scx::Algorithm& a) { return a.provenance_json; })
        .def_prop_ro("ruler_json", [](const scx::Algorithm& a) { return a.ruler_json; });

    m.def("read_algorithm", &scx::read_algorithm, "path"_a, nb::call_guard<nb::gil_scoped_release>(),
          "Reads an algorithm file (.scx), checking every checksum.");

    m.def(
        "apply_csr",
        [](const scx::Algorithm& algorithm, const AnyArray& data, const AnyArray& indices, const AnyArray& indptr,
           std::int64_t n_rows, std::int64_t n_cols, const std::vector<std::string>& symbols, double max_missing,
           std::int64_t chunk_rows, bool exact_features, bool check_counts, int threads, const std::string& algorithm_path,
           const std::string& matrix_source) {
            auto reader = csr_reader(data, indices, indptr, n_rows, n_cols);
            return run_apply(algorithm, *reader, symbols,
                             apply_options(max_missing, chunk_rows, exact_features, check_counts, threads, algorithm_path, matrix_source));
        },
        "algorithm"_a, "data"_a, "indices"_a, "indptr"_a, "n_rows"_a, "n_cols"_a, "symbols"_a, "max_missing"_a = 0.5,
        "chunk_rows"_a = 20000, "exact_features"_a = false, "check_counts"_a = true, "threads"_a = 0, "algorithm_path"_a = "",
        "matrix_source"_a = "X", "Applies an algorithm to CSR arrays viewed in place.");

    m.def(
        "apply_dense",
        [](const scx::Algorithm& algorithm, const AnyArray& x, const std::vector<std::string>& symbols, double max_missing,
           std::int64_t chunk_rows, bool exact_features, bool check_counts, int threads, const std::string& algorithm_path,
           const std::string& matrix_source) {
            auto reader = dense_reader(x);
            return run_apply(algorithm, *reader, symbols,
                             apply_options(max_missing, chunk_rows, exact_features, check_counts, threads, algorithm_path, matrix_source));
        },
        "algorithm"_a, "x"_a, "symbols"_a, "max_missing"_a = 0.5, "chunk_rows"_a = 20000, "exact_features"_a = false,
        "check_counts"_a = true, "threads"_a = 0, "algorithm_path"_a = "", "matrix_source"_a = "X",
        "Applies an algorithm to a dense array viewed in place (any strides).");

    m.def(
        "apply_file",
        [](const std::string& algorithm, const std::string& input, const std::string& out, const std::string& layer, bool raw,
           const std::string& gene_column, double max_missing, std::int64_t chunk_rows, bool exact_features, int threads) {
            scx::ApplyFileOptions o;
            o.algorithm = algorithm;
            o.input = input;
            o.out = out;
            o.layer = layer;
            o.raw = raw;
            o.gene_column = gene_column;
            o.apply = apply_options(max_missing, chunk_rows, exact_features, true, threads, algorithm, "X");
            nb::gil_scoped_release release;
            const auto r = scx::apply_file(o);
            return std::make_tuple(r.cells, r.latent_dim, r.streamed, r.seconds, scx::describe_ood(r.ood),
                                   r.ood.available ? r.ood.fraction() : -1.0, r.ood.exceeds_warning());
        },
        "algorithm"_a, "input"_a, "out"_a, "layer"_a = "", "raw"_a = false, "gene_column"_a = "", "max_missing"_a = 0.5,
        "chunk_rows"_a = 20000, "exact_features"_a = false, "threads"_a = 0,
        "File to file, exactly as `scextract apply`: (cells, latent_dim, streamed, seconds, ood line, OOD fraction "
        "(-1: unavailable), OOD warning).");

    m.def(
        "choose_gene_symbols",
        [](const std::vector<std::string>& var_names, const std::vector<std::pair<std::string, std::vector<std::string>>>& columns,
           const std::string& force_column) {
            std::vector<scx::GeneColumn> cols;
            for (const auto& [name, values] : columns) cols.push_back({name, values});
            scx::GeneSymbolOptions o;
            o.force_column = force_column;
            auto c = scx::choose_gene_symbols(var_names, cols, o);
            return std::make_pair(std::move(c.symbols), std::move(c.explanation));
        },
        "var_names"_a, "columns"_a, "force_column"_a = "",
        "The gene symbols scextract uses for var: (symbols, explanation), the CLI's choice.");

    nb::class_<scx::ScGptCheckpoint>(m, "Model", "An scGPT checkpoint loaded without executing anything from it.")
        .def_prop_ro("weights_file", [](const scx::ScGptCheckpoint& c) { return c.weights_file; })
        .def_prop_ro("n_layers", [](const scx::ScGptCheckpoint& c) { return c.config.n_layers; })
        .def_prop_ro("n_heads", [](const scx::ScGptCheckpoint& c) { return c.config.n_heads; })
        .def_prop_ro("d_model", [](const scx::ScGptCheckpoint& c) { return c.config.d_model; })
        .def_prop_ro("vocab_size", [](const scx::ScGptCheckpoint& c) { return static_cast<std::int64_t>(c.vocab.size()); });

    m.def("load_model", &scx::load_model, "path"_a, nb::call_guard<nb::gil_scoped_release>(),
          "Loads an scGPT checkpoint folder or weights file (nothing in it is executed).");

    m.def(
        "embed_arrays",
        [](const scx::ScGptCheckpoint& model, nb::object x_data, nb::object indices, nb::object indptr, std::int64_t n_rows,
           std::int64_t n_cols, const std::vector<std::string>& symbols, const std::string& pool, const std::string& tokenizer,
           const std::string& padded_states, std::int64_t pool_batch_size, bool l2_normalize, std::int64_t max_tokens,
           std::int64_t batch_size, std::uint64_t seed, int threads, const std::string& matrix_source) {
            // the forward pass needs the cells as one CSR matrix: read the viewed arrays once
            std::unique_ptr<scx::RowBlockReader> reader =
                indices.is_none() ? dense_reader(nb::cast<AnyArray>(x_data))
                                  : csr_reader(nb::cast<AnyArray>(x_data), nb::cast<AnyArray>(indices), nb::cast<AnyArray>(indptr),
                                               n_rows, n_cols);
            if (static_cast<std::int64_t>(symbols.size()) != reader->n_cols())
                throw scx::Error(fmt::format("X has {} genes but {} gene symbols were given", reader->n_cols(), symbols.size()));
            auto o = scx::embed_options(pool, tokenizer, padded_states);
            o.pool_batch_size = pool_batch_size;
            o.l2_normalize = l2_normalize;
            o.max_tokens = max_tokens;
            o.batch_size = batch_size;
            o.seed = seed;
            o.threads = threads;
            scx::EmbedResult r;
            {
                nb::gil_scoped_release release;
                const auto counts = reader->read_rows(0, reader->n_rows());
                r = scx::embed_cells(model, counts, symbols, o);
            }
            nb::dict d;
            const auto n = static_cast<std::size_t>(r.embedding.rows()), k = static_cast<std::size_t>(r.embedding.cols());
            d["embedding"] = owned_array(std::vector<float>(r.embedding.data(), r.embedding.data() + r.embedding.size()), {n, k});
            d["uns"] = element_to_python(scx::Element{scx::embed_provenance(model.weights_file, o, matrix_source)});
            d["genes_in_vocab"] = r.genes_in_vocab;
            d["empty_cells"] = r.empty_cells;
            return d;
        },
        "model"_a, "data"_a, "indices"_a.none(), "indptr"_a.none(), "n_rows"_a, "n_cols"_a, "symbols"_a, "pool"_a = "mean",
        "tokenizer"_a = "official", "padded_states"_a = "zero", "pool_batch_size"_a = 64, "l2_normalize"_a = false,
        "max_tokens"_a = 1200, "batch_size"_a = 8, "seed"_a = 42, "threads"_a = 0, "matrix_source"_a = "X",
        "Frozen scGPT embeddings of CSR arrays (indices given) or a dense array (indices None).");

    m.def(
        "export_file",
        [](const std::string& model, const std::string& reference, const std::string& out, const std::string& mode,
           std::int64_t panel, std::int64_t cells, std::int64_t max_tokens, std::int64_t batch_size, const std::string& layer, bool raw,
           const std::string& gene_column, const std::string& flavor, const std::string& vocab_filter, const std::string& panel_order,
           double target_sum, std::uint64_t seed, int threads, const std::string& input_kind) {
            scx::ExportFileOptions o;
            o.input.kind = scx::parse_input_kind(input_kind, "input_kind");
            o.model = model;
            o.reference = reference;
            o.out = out;
            o.mode = mode;
            o.panel = panel;
            o.cells = cells;
            o.max_tokens = max_tokens;
            o.batch_size = batch_size;
            o.layer = layer;
            o.raw = raw;
            o.gene_column = gene_column;
            o.flavor = flavor;
            o.vocab_filter = vocab_filter;
            o.panel_order = panel_order;
            o.target_sum = target_sum;
            o.seed = seed;
            o.threads = threads;
            nb::gil_scoped_release release;
            const auto r = scx::export_file(o);
            return std::make_tuple(r.operators, r.panel, r.bytes, r.seconds);
        },
        "model"_a, "reference"_a, "out"_a, "mode"_a, "panel"_a, "cells"_a, "max_tokens"_a, "batch_size"_a, "layer"_a, "raw"_a,
        "gene_column"_a, "flavor"_a, "vocab_filter"_a, "panel_order"_a, "target_sum"_a, "seed"_a, "threads"_a, "input_kind"_a,
        "`scextract export`: (operators, panel genes, bytes, seconds).");

    m.def(
        "fit_file",
        [](const std::string& operator_file, const std::string& train, const std::string& out, const std::string& label_key,
           const std::string& donor_key, const std::string& tissue_key, const std::string& layer, bool raw,
           const std::string& gene_column, const std::string& ruler, const std::string& variant, std::int64_t k, double alpha,
           std::int64_t epochs, const std::string& features, const std::string& head, const std::string& heads, std::int64_t rank,
           std::int64_t factors, std::int64_t top_genes, const std::string& orientation, std::uint64_t seed, int threads,
           const std::string& input_kind, const std::string& label_map) {
            scx::FitFileOptions o;
            o.operator_file = operator_file;
            o.reference = {train, label_key, donor_key, tissue_key, layer, raw, gene_column};
            o.reference.input.kind = scx::parse_input_kind(input_kind, "input_kind");
            o.label_map = label_map;
            o.out = out;
            o.ruler = ruler;
            o.variant = variant;
            o.k = k;
            o.alpha = alpha;
            o.epochs = epochs;
            o.features = scx::feature_spec({features, head, heads, orientation, rank, factors, top_genes});
            o.seed = seed;
            o.threads = threads;
            nb::gil_scoped_release release;
            const auto r = scx::fit_file(o);
            std::vector<std::tuple<std::string, std::int64_t, std::int64_t, double>> readouts;
            for (const auto& s : r.fit.readouts) readouts.emplace_back(s.task, s.parameters, s.training_rows, s.training_score);
            return std::make_tuple(r.fit.n_cells, r.fit.n_on_ruler, r.fit.adaptor_rows, r.fit.adaptor_parameters, r.fit.adaptor_loss,
                                   readouts, r.features, r.seconds);
        },
        "operator_file"_a, "train"_a, "out"_a, "label_key"_a, "donor_key"_a, "tissue_key"_a, "layer"_a, "raw"_a, "gene_column"_a,
        "ruler"_a, "variant"_a, "k"_a, "alpha"_a, "epochs"_a, "features"_a, "head"_a, "heads"_a, "rank"_a, "factors"_a,
        "top_genes"_a, "orientation"_a, "seed"_a, "threads"_a, "input_kind"_a, "label_map"_a, "`scextract fit`: a summary tuple of the fit.");

    m.def(
        "pseudotime_file",
        [](const std::string& method, const std::string& input, const std::string& out, const std::string& root,
           const std::string& root_label, const std::string& label_key, const std::string& use_rep, const std::string& layer,
           bool raw, const std::string& input_kind, std::int64_t n_top_genes, std::int64_t n_pcs, std::int64_t n_neighbors,
           std::int64_t n_comps, std::int64_t n_dcs, std::int64_t knn, std::int64_t n_components, std::int64_t num_waypoints,
           std::uint64_t seed, int threads) {
            const scx::PseudotimeFileOptions o{.method = method, .input = input, .out = out, .root = root,
                                               .root_label = root_label, .label_key = label_key, .use_rep = use_rep,
                                               .layer = layer, .raw = raw, .input_kind = input_kind,
                                               .n_top_genes = n_top_genes, .n_pcs = n_pcs, .n_neighbors = n_neighbors,
                                               .n_comps = n_comps, .n_dcs = n_dcs, .knn = knn, .n_components = n_components,
                                               .num_waypoints = num_waypoints, .seed = seed, .threads = threads};
            nb::gil_scoped_release release;
            const auto r = scx::pseudotime_file(o);
            return std::make_tuple(r.cells, r.representation, r.root, r.root_index, r.start_cell, r.terminal_states,
                                   r.unreachable, r.seconds);
        },
        "method"_a, "input"_a, "out"_a, "root"_a, "root_label"_a, "label_key"_a, "use_rep"_a, "layer"_a, "raw"_a, "input_kind"_a,
        "n_top_genes"_a, "n_pcs"_a, "n_neighbors"_a, "n_comps"_a, "n_dcs"_a, "knn"_a, "n_components"_a, "num_waypoints"_a,
        "seed"_a, "threads"_a,
        "`scextract pseudotime`: (cells, representation, root, root row, start cell, terminal states, unreachable cells, "
        "seconds).");

    m.def(
        "interpret_file",
        [](const std::string& algorithm, const std::string& data, const std::string& out, const std::string& label_key,
           const std::string& donor_key, const std::string& tissue_key, const std::string& layer, bool raw,
           const std::string& gene_column, const std::vector<std::string>& gmt, const std::string& programs,
           std::int64_t top_genes, std::int64_t factors, std::int64_t core, const std::vector<std::string>& endpoints,
           std::int64_t min_donor_cells, std::int64_t max_cells, std::int64_t permutations, double fdr, std::uint64_t seed,
           int threads) {
            scx::InterpretFileOptions o;
            o.algorithm = algorithm;
            o.data = {data, label_key, donor_key, tissue_key, layer, raw, gene_column, threads};
            o.out = out;
            o.gmt = gmt;
            o.programs = programs;
            o.top_genes = top_genes;
            o.max_factors = factors;
            o.core_size = core;
            o.endpoints = endpoints;
            o.min_donor_cells = min_donor_cells;
            o.max_cells = max_cells;
            o.permutations = permutations;
            o.fdr = fdr;
            o.seed = seed;
            o.threads = threads;
            nb::gil_scoped_release release;
            const auto r = scx::interpret_file(o);
            return std::make_tuple(scx::interpretation_json(r.interpretation).dump(), r.files, r.seconds);
        },
        "algorithm"_a, "data"_a, "out"_a, "label_key"_a, "donor_key"_a, "tissue_key"_a, "layer"_a, "raw"_a, "gene_column"_a,
        "gmt"_a, "programs"_a, "top_genes"_a, "factors"_a, "core"_a, "endpoints"_a, "min_donor_cells"_a, "max_cells"_a,
        "permutations"_a, "fdr"_a, "seed"_a, "threads"_a, "`scextract interpret`: (interpret.json text, files written, seconds).");

    m.def(
        "perturb_file",
        [](const std::string& algorithm, const std::string& input, const std::string& out, const std::string& summary,
           const std::vector<std::string>& genes, const std::string& program, const std::string& programs, std::int64_t factor,
           const std::string& mode, std::int64_t null_sets, const std::string& layer, bool raw, const std::string& gene_column,
           std::uint64_t seed, int threads) {
            scx::PerturbFileOptions o;
            o.algorithm = algorithm;
            o.input = input;
            o.out = out;
            o.summary = summary;
            o.layer = layer;
            o.raw = raw;
            o.gene_column = gene_column;
            o.program = program;
            o.programs_file = programs;
            o.perturbation.genes = genes;
            o.perturbation.factor = factor;
            o.perturbation.mode = scx::parse_perturbation_mode(mode);
            o.perturbation.null_sets = null_sets;
            o.perturbation.seed = seed;
            o.perturbation.threads = threads;
            nb::gil_scoped_release release;
            const auto r = scx::perturb_file(o);
            std::vector<std::tuple<std::string, double, double, double, double, double, double, std::string>> rows;
            for (const auto& x : r.perturbation.summary)
                rows.emplace_back(x.output, x.shift, x.null_mean, x.null_sd, x.z, x.p, x.q, x.direction);
            return std::make_tuple(rows, r.perturbation.genes, r.perturbation.missing_genes, r.summary, r.seconds);
        },
        "algorithm"_a, "input"_a, "out"_a, "summary"_a, "genes"_a, "program"_a, "programs"_a, "factor"_a, "mode"_a,
        "null_sets"_a, "layer"_a, "raw"_a, "gene_column"_a, "seed"_a, "threads"_a,
        "`scextract perturb`: (summary rows, genes perturbed, genes off the panel, summary TSV, seconds).");

    m.def(
        "inspect",
        [](const std::string& path) {
            scx::InspectResult r;
            {
                nb::gil_scoped_release release;
                r = scx::inspect_path(path);
            }
            return std::make_tuple(r.kind, r.summary.dump(), r.text);
        },
        "path"_a, "`scextract inspect`: (kind, summary JSON text, text).");
}

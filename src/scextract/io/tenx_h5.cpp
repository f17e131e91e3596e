#include "scextract/io/tenx.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/memory.hpp"
#include "scextract/io/hdf5.hpp"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx {

namespace {

h5::Handle require_dataset(hid_t group, const std::string& name) {
    if (!h5::is_dataset(group, name))
        throw Error(fmt::format("{}/{}: missing (a Cell Ranger matrix needs it)", h5::where(group), name));
    return h5::open_dataset(group, name);
}

/// Length of a 1-D dataset; throws for any other rank.
std::int64_t length_1d(hid_t dset) {
    const auto shape = h5::dataset_shape(dset);
    if (shape.size() != 1)
        throw Error(fmt::format("{}: expected a 1-D dataset, found {} dimensions", h5::where(dset), shape.size()));
    return shape[0];
}

std::vector<std::string> read_string_vector(hid_t group, const std::string& name, std::int64_t expected,
                                            const char* counted) {
    const auto d = require_dataset(group, name);
    if (!h5::dataset_is_string(d)) throw Error(fmt::format("{}: expected strings", h5::where(d)));
    const auto n = length_1d(d);
    if (n != expected)
        throw Error(fmt::format("{}: {} entries but the matrix has {} {}", h5::where(d), n, expected, counted));
    return h5::read_strings(d).values;
}

/// The stored genes x cells CSC, read as the cells x genes CSR it is.
CsrMatrix read_csc_as_csr(hid_t group) {
    const auto shape_ds = require_dataset(group, "shape");
    const NdArray shape = h5::read_ndarray(shape_ds);
    if (shape.size() != 2 || dtype_is_float(shape.dtype))
        throw Error(fmt::format("{}: expected 2 integers (genes, cells)", h5::where(shape_ds)));
    const std::int64_t n_genes = shape.at_int(0), n_cells = shape.at_int(1);
    if (n_genes < 0 || n_cells < 0 || n_genes > std::numeric_limits<std::int32_t>::max())
        throw Error(fmt::format("{}: unsupported shape ({}, {})", h5::where(shape_ds), n_genes, n_cells));

    const auto data = require_dataset(group, "data");
    const auto indices = require_dataset(group, "indices");
    const auto indptr = require_dataset(group, "indptr");
    for (hid_t d : {data.get(), indices.get(), indptr.get()}) h5::check_filters(d);
    const auto nnz = length_1d(data);
    if (length_1d(indices) != nnz)
        throw Error(fmt::format("{}: {} entries but data has {}", h5::where(indices), length_1d(indices), nnz));
    if (length_1d(indptr) != n_cells + 1)
        throw Error(fmt::format("{}: {} entries but shape says {} cells (expected {})", h5::where(indptr),
                                length_1d(indptr), n_cells, n_cells + 1));

    // declared sizes checked against what the file stores and against memory before allocating
    for (hid_t d : {data.get(), indices.get(), indptr.get()}) h5::check_stored_size(d);
    check_fits_in_memory(checked_bytes(static_cast<std::uint64_t>(nnz), sizeof(float) + sizeof(std::int32_t)) +
                             checked_bytes(static_cast<std::uint64_t>(n_cells) + 1, sizeof(std::int64_t)),
                         h5::where(group));
    CsrMatrix m;
    m.n_rows = n_cells;
    m.n_cols = n_genes;
    m.values.resize(static_cast<std::size_t>(nnz));
    m.indices.resize(static_cast<std::size_t>(nnz));
    m.indptr.resize(static_cast<std::size_t>(n_cells + 1));
    // HDF5 converts integer counts to float and wider indices to int32 (clamping, which validate() then catches).
    h5::read_range<float>(data, 0, nnz, m.values.data());
    h5::read_range<std::int32_t>(indices, 0, nnz, m.indices.data());
    h5::read_range<std::int64_t>(indptr, 0, n_cells + 1, m.indptr.data());
    m.validate(h5::where(group));

    if (const auto dup = sort_row_indices(m))
        throw Error(fmt::format("{}: gene {} appears twice in cell {}", h5::where(group), dup->second, dup->first));
    return m;
}

StringArray string_array(std::vector<std::string> v) {
    StringArray a;
    a.shape = {static_cast<std::int64_t>(v.size())};
    a.values = std::move(v);
    return a;
}

/// Keeps entries @p keep (in order) of a 1-D column.
Column gather_column(const Column& c, const std::vector<std::int64_t>& keep) {
    if (const auto* s = std::get_if<StringArray>(&c)) {
        std::vector<std::string> v;
        v.reserve(keep.size());
        for (auto k : keep) v.push_back(s->values[static_cast<std::size_t>(k)]);
        return string_array(std::move(v));
    }
    const auto& a = std::get<NdArray>(c);
    NdArray out;
    out.dtype = a.dtype;
    out.shape = {static_cast<std::int64_t>(keep.size())};
    const auto size = dtype_size(a.dtype);
    out.bytes.resize(keep.size() * size);
    for (std::size_t j = 0; j < keep.size(); ++j)
        std::copy_n(a.bytes.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(keep[j]) * size), size,
                    out.bytes.begin() + static_cast<std::ptrdiff_t>(j * size));
    return out;
}

/// The genome groups of a Cell Ranger 2 file (top-level groups holding gene_names).
std::vector<std::string> legacy_genomes(hid_t file) {
    std::vector<std::string> out;
    for (const auto& name : h5::children(file))
        if (h5::is_group(file, name) && h5::is_dataset(file, name + "/gene_names")) out.push_back(name);
    return out;
}

} // namespace

Dataset read_10x_h5(const std::string& path, const DatasetReadOptions& options) {
    const auto file = h5::open_file_read(path);
    const bool v3 = h5::is_group(file, "matrix");
    std::string group_name = "matrix";
    if (!v3) {
        const auto genomes = legacy_genomes(file);
        if (genomes.empty())
            throw Error(fmt::format("{}: not a Cell Ranger HDF5 matrix: no /matrix group (v3) and no genome group with "
                                    "gene_names (v2)",
                                    path));
        if (genomes.size() > 1)
            throw Error(fmt::format("{}: Cell Ranger v2 file with several genomes ({}); extract one genome first",
                                    path, fmt::join(genomes, ", ")));
        group_name = genomes.front();
    }
    const auto group = h5::open_group(file, group_name);
    CsrMatrix m = read_csc_as_csr(group);
    std::vector<std::string> barcodes = read_string_vector(group, "barcodes", m.n_rows, "cells");

    DataFrame var;
    DataFrame obs;
    std::vector<std::string> names, types;
    if (v3) {
        if (!h5::is_group(group, "features"))
            throw Error(fmt::format("{}/features: missing (a Cell Ranger v3 matrix needs it)", h5::where(group)));
        const auto features = h5::open_group(group, "features");
        names = read_string_vector(features, "name", m.n_cols, "genes");
        // Probe-barcode matrices keep the gene in gene_id and the probe in id.
        if (h5::is_dataset(features, "gene_id")) {
            var.columns.emplace_back("gene_ids", string_array(read_string_vector(features, "gene_id", m.n_cols, "genes")));
            var.columns.emplace_back("probe_ids", string_array(read_string_vector(features, "id", m.n_cols, "genes")));
        } else {
            var.columns.emplace_back("gene_ids", string_array(read_string_vector(features, "id", m.n_cols, "genes")));
        }
        types = read_string_vector(features, "feature_type", m.n_cols, "genes");
        var.columns.emplace_back("feature_types", string_array(types));
        // Any further per-feature dataset (genome, antibody pattern/read/sequence) becomes a column, as in scanpy.
        for (const auto& child : h5::children(features)) {
            if (child == "name" || child == "id" || child == "gene_id" || child == "feature_type" || child == "_all_tag_keys")
                continue;
            if (!h5::is_dataset(features, child)) continue;
            const auto d = h5::open_dataset(features, child);
            const auto shape = h5::dataset_shape(d);
            if (shape.size() != 1 || shape[0] != m.n_cols) continue;
            if (h5::dataset_is_string(d)) var.columns.emplace_back(child, string_array(h5::read_strings(d).values));
            else var.columns.emplace_back(child, h5::read_ndarray(d));
        }
        if (h5::is_dataset(group, "filtered_barcodes")) {
            const auto d = h5::open_dataset(group, "filtered_barcodes");
            const NdArray a = h5::read_ndarray(d);
            if (a.shape.size() == 1 && a.shape[0] == m.n_rows) {
                std::vector<bool> flags(static_cast<std::size_t>(a.size()));
                for (std::int64_t i = 0; i < a.size(); ++i) flags[static_cast<std::size_t>(i)] = a.at_int(i) != 0;
                obs.columns.emplace_back("filtered_barcodes", NdArray::from(flags));
            }
        }
    } else {
        names = read_string_vector(group, "gene_names", m.n_cols, "genes");
        var.columns.emplace_back("gene_ids", string_array(read_string_vector(group, "genes", m.n_cols, "genes")));
    }

    if (v3 && options.gene_expression_only) {
        std::vector<std::int64_t> keep;
        for (std::size_t j = 0; j < types.size(); ++j)
            if (types[j] == "Gene Expression") keep.push_back(static_cast<std::int64_t>(j));
        if (keep.empty() && !types.empty()) {
            auto kinds = types;
            std::sort(kinds.begin(), kinds.end());
            kinds.erase(std::unique(kinds.begin(), kinds.end()), kinds.end());
            throw Error(fmt::format("{}: no 'Gene Expression' features (types present: {}); read all features instead",
                                    path, fmt::join(kinds, ", ")));
        }
        if (keep.size() != types.size()) {
            m = select_columns(m, keep);
            std::vector<std::string> kept;
            kept.reserve(keep.size());
            for (auto k : keep) kept.push_back(names[static_cast<std::size_t>(k)]);
            names = std::move(kept);
            for (auto& [col_name, col] : var.columns) col = gather_column(col, keep);
        }
    }
    // scanpy.read_10x_h5 leaves duplicates; users then call var_names_make_unique() on the filtered genes.
    names = make_index_unique(std::move(names));

    Dataset d;
    d.matrix = std::move(m);
    d.obs_names = barcodes;
    obs.index = std::move(barcodes);
    d.obs = std::move(obs);
    d.var_names = names;
    var.index = std::move(names);
    d.var = std::move(var);
    d.format = "10x-h5";
    d.matrix_source = std::filesystem::path(path).filename().string();
    return d;
}

} // namespace scx

#include "scextract/io/dataset.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/anndata_check.hpp"
#include "scextract/io/csv_counts.hpp"
#include "scextract/io/h5ad_reader.hpp"
#include "scextract/io/h5ad_writer.hpp"
#include "scextract/io/hdf5.hpp"
#include "scextract/io/tenx.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include <fmt/format.h>

namespace scx {

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Dataset read_h5ad_dataset(const std::string& path, const DatasetReadOptions& options) {
    const H5adMatrixLocation where{options.layer, options.use_raw};
    auto ad = read_h5ad(path, {.read_X = false,
                               .read_layers = false,
                               .read_raw_X = false,
                               .read_obsp = false,
                               .read_obs = !options.metadata_only});
    Dataset d;
    d.format = "h5ad";
    d.matrix_source = where.path();
    {
        h5::Handle f = h5::open_file_read(path);
        if (h5::is_group(f, "layers")) d.layer_names = h5::children(h5::open_group(f, "layers"));
        d.has_raw = (h5::link_exists(f, "raw/X") || h5::link_exists(f, "raw.X"));
    }
    if (!options.layer.empty() && std::find(d.layer_names.begin(), d.layer_names.end(), options.layer) == d.layer_names.end())
        throw Error(fmt::format("{}: no layer '{}' (layers present: {})", path, options.layer,
                                d.layer_names.empty() ? std::string("none") : fmt::format("{}", fmt::join(d.layer_names, ", "))));
    if (options.use_raw && !d.has_raw) throw Error(fmt::format("{}: --raw was given but the file has no raw.X", path));
    if (options.metadata_only) {
        const auto info = inspect_h5ad_matrix(path, where);
        d.matrix.n_rows = info.n_rows;
        d.matrix.n_cols = info.n_cols;
    } else {
        d.matrix = read_h5ad_matrix(path, where);
    }
    d.obs = std::move(ad.obs);
    d.var = options.use_raw ? std::move(ad.raw->var) : std::move(ad.var);
    if (d.matrix.n_rows != ad.n_obs)
        throw Error(fmt::format("{}: obs has {} rows but {} has {}", path, ad.n_obs, d.matrix_source, d.matrix.n_rows));
    if (d.matrix.n_cols != d.var.n_rows())
        throw Error(fmt::format("{}: {} has {} genes but {} has {} rows", path, d.matrix_source, d.matrix.n_cols,
                                options.use_raw ? "raw.var" : "var", d.var.n_rows()));
    d.obs_names = d.obs.index;
    d.var_names = d.var.index;
    return d;
}
} // namespace

InputFormat detect_input_format(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw Error(fmt::format("{}: no such file or directory", path));
    if (std::filesystem::is_directory(path, ec)) return InputFormat::tenx_mtx;
    std::string lower = path;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (ends_with(lower, ".csv") || ends_with(lower, ".csv.gz") || ends_with(lower, ".tsv") || ends_with(lower, ".tsv.gz"))
        return InputFormat::csv;
    h5::init_hdf5();
    if (H5Fis_hdf5(path.c_str()) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        throw Error(fmt::format("{}: unrecognised input: not HDF5 (.h5ad / 10x .h5), not a 10x folder and not .csv/.tsv", path));
    }
    h5::Handle f = h5::open_file_read(path);
    if (h5::is_group(f, "matrix") && !h5::link_exists(f, "obs")) return InputFormat::tenx_h5;
    return InputFormat::h5ad;
}

Dataset read_dataset(const std::string& path, const DatasetReadOptions& options) {
    const auto format = detect_input_format(path);
    if (format != InputFormat::h5ad && (!options.layer.empty() || options.use_raw))
        throw UsageError(fmt::format("{}: --layer and --raw apply to .h5ad input only", path));
    switch (format) {
    case InputFormat::h5ad: return read_h5ad_dataset(path, options);
    case InputFormat::tenx_mtx: return read_10x_mtx(path, options);
    case InputFormat::tenx_h5: return read_10x_h5(path, options);
    case InputFormat::csv: return read_csv_counts(path, options);
    }
    throw Error("unreachable");
}

AnnData dataset_to_anndata(Dataset d) {
    AnnData ad;
    ad.n_obs = d.matrix.n_rows;
    ad.n_vars = d.matrix.n_cols;
    ad.X = from_csr(d.matrix);
    ad.obs = std::move(d.obs);
    ad.var = std::move(d.var);
    return ad;
}

void write_dataset_with_additions(const std::string& input, Dataset d, const std::string& output,
                                  const H5adAdditions& additions) {
    if (d.format == "h5ad") {
        write_h5ad_with_additions(input, output, additions);
        return;
    }
    auto ad = dataset_to_anndata(std::move(d));
    apply_additions(ad, additions);
    write_h5ad(ad, output);
}

AnnData read_as_anndata(const std::string& path, std::vector<std::string>* warnings) {
    if (detect_input_format(path) == InputFormat::h5ad) return read_h5ad(path, {}, warnings);
    auto ad = dataset_to_anndata(read_dataset(path));
    check_anndata(ad, path);
    return ad;
}

} // namespace scx

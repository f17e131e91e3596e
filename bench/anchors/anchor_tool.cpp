/// @file anchor_tool.cpp
/// @brief scextract's side of the side-by-side runs of bench/anchors/ (issue 8): each step of
/// bench/anchors/anchors.py, on the same .h5ad, with the same defaults, in its own process.
///
///   anchor_tool STEP --input DATA.h5ad --out DIR [options]
///
/// Steps (the Python twin of each is in anchors.py, which documents the tool's calls):
///   read        the whole dataset (X, obs, var)
///   hvg         normalize_total(1e4) + log1p + highly_variable_genes (--flavor seurat | seurat_v3)
///   dpt         + HVG subset -> PCA 50 -> kNN 15 -> umap connectivities -> diffmap 15 -> DPT
///               (--knn nn_descent: NN-descent in place of hnswlib from 8,192 cells)
///   palantir    + HVG subset -> PCA 50 -> Palantir (knn 30, 10 components, 1,200 waypoints)
///   celltypist  normalize + log1p over all genes; train on the training cells, label the test cells
///   scvi        counts of the HVG genes -> scVI for --epochs -> latent means of every cell
///   stats       Spearman / Wilcoxon / BH on DIR/stats_input.json (written by anchors.py)
///   apply       the streamed apply of --algorithm A (scx::apply_file: read, count check,
///               features, adaptor, readouts, written into a copy of the input, DIR/applied.h5ad)
///   read_stream X alone through H5adRowReader in --rows blocks, the read apply makes; apply's
///               baseline (no Python twin: the target is apply against this read)
/// Writes DIR/<step>_ours.* and prints one JSON line: the step's seconds (the method alone,
/// after reading), read and preparation seconds, and peak resident memory.

#include "scextract/apply.hpp"
#include "scextract/core/csr_matrix.hpp"
#include "scextract/core/dense.hpp"
#include "scextract/core/error.hpp"
#include "scextract/core/memory.hpp"
#include "scextract/baselines/celltypist.hpp"
#include "scextract/baselines/diffusion_pseudotime.hpp"
#include "scextract/baselines/palantir.hpp"
#include "scextract/baselines/scvi_model.hpp"
#include "scextract/stats/statistics.hpp"
#include "scextract/io/dataset.hpp"
#include "scextract/io/h5ad_reader.hpp"
#include "scextract/io/npy.hpp"
#include "scextract/preprocess/hvg.hpp"
#include "scextract/preprocess/normalize.hpp"

#include <nlohmann/json.hpp>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Args {
    std::string step, input, out, flavor = "seurat", label_key = "cell_type", split_key, root_key = "depth";
    std::string knn = "automatic"; // dpt: automatic (hnswlib from 8,192 cells) | nn_descent
    std::string algorithm;         // apply: the .scx
    std::int64_t rows = 20000;     // apply and read_stream: cells per block
    std::vector<std::string> test_values;
    std::int64_t n_top = 2000, epochs = 20;
    std::uint64_t seed = 0;
    int threads = 0;
};

std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> out;
    std::size_t b = 0;
    while (b <= s.size()) {
        const auto e = s.find(',', b);
        const auto part = s.substr(b, e == std::string::npos ? std::string::npos : e - b);
        if (!part.empty()) out.push_back(part);
        if (e == std::string::npos) break;
        b = e + 1;
    }
    return out;
}

Args parse_args(int argc, char** argv) {
    if (argc < 2) throw scx::Error("usage: anchor_tool STEP --input DATA.h5ad --out DIR [options]");
    Args a;
    a.step = argv[1];
    for (int i = 2; i < argc; ++i) {
        const std::string k = argv[i];
        if (i + 1 >= argc) throw scx::Error("anchor_tool: " + k + " needs a value");
        const std::string v = argv[++i];
        if (k == "--input") a.input = v;
        else if (k == "--out") a.out = v;
        else if (k == "--flavor") a.flavor = v;
        else if (k == "--n-top") a.n_top = std::stoll(v);
        else if (k == "--label-key") a.label_key = v;
        else if (k == "--split-key") a.split_key = v;
        else if (k == "--test-values") a.test_values = split_commas(v);
        else if (k == "--root-key") a.root_key = v;
        else if (k == "--epochs") a.epochs = std::stoll(v);
        else if (k == "--seed") a.seed = std::stoull(v);
        else if (k == "--threads") a.threads = std::stoi(v);
        else if (k == "--knn") a.knn = v;
        else if (k == "--algorithm") a.algorithm = v;
        else if (k == "--rows") a.rows = std::stoll(v);
        else throw scx::Error("anchor_tool: unknown option " + k);
    }
    if (a.out.empty()) throw scx::Error("anchor_tool: --out is required");
    return a;
}

const scx::Column& obs_column(const scx::Dataset& d, const std::string& key) {
    const auto* c = d.obs.find(key);
    if (c == nullptr) throw scx::Error("anchor_tool: " + key + " is not an obs column of the input");
    return *c;
}

/// The first cell with the smallest value of a numeric obs column: the root both sides use.
std::int64_t root_cell(const scx::Dataset& d, const std::string& key) {
    const auto& c = obs_column(d, key);
    const auto* a = std::get_if<scx::NdArray>(&c);
    if (a == nullptr) throw scx::Error("anchor_tool: obs column " + key + " is not numeric");
    std::int64_t best = 0;
    for (std::int64_t i = 1; i < a->size(); ++i)
        if (a->at(i) < a->at(best)) best = i;
    return best;
}

/// Test cells: those whose split-key value is listed; without a key, every odd cell.
std::vector<bool> test_mask(const scx::Dataset& d, const Args& a) {
    const auto n = d.matrix.n_rows;
    std::vector<bool> test(static_cast<std::size_t>(n));
    if (a.split_key.empty()) {
        for (std::int64_t i = 0; i < n; ++i) test[static_cast<std::size_t>(i)] = i % 2 == 1;
        return test;
    }
    const auto values = scx::column_as_strings(obs_column(d, a.split_key), a.split_key);
    const std::set<std::string> wanted(a.test_values.begin(), a.test_values.end());
    for (std::int64_t i = 0; i < n; ++i) test[static_cast<std::size_t>(i)] = wanted.contains(values[static_cast<std::size_t>(i)]);
    return test;
}

scx::RowMatrixF dense(const scx::CsrMatrix& m) {
    scx::RowMatrixF x = scx::RowMatrixF::Zero(m.n_rows, m.n_cols);
    for (std::int64_t r = 0; r < m.n_rows; ++r) {
        const auto v = m.row_values(r);
        const auto j = m.row_indices(r);
        for (std::size_t k = 0; k < v.size(); ++k) x(r, j[k]) = v[k];
    }
    return x;
}

/// The rows of @p x where @p mask equals @p value, in order.
scx::RowMatrixF masked_rows(const scx::RowMatrixF& x, const std::vector<bool>& mask, bool value) {
    std::vector<Eigen::Index> rows;
    for (std::size_t i = 0; i < mask.size(); ++i)
        if (mask[i] == value) rows.push_back(static_cast<Eigen::Index>(i));
    return scx::take_rows(x, rows);
}

scx::CsrMatrix log_normalized(const scx::CsrMatrix& counts, int threads) {
    auto x = scx::normalize_total(counts, {.target_sum = 1e4, .threads = threads});
    scx::log1p_in_place(x, threads);
    return x;
}

scx::HvgResult select_hvg(const scx::CsrMatrix& counts, const scx::CsrMatrix& lognorm, const Args& a) {
    scx::HvgOptions o;
    o.flavor = a.flavor == "seurat_v3" ? scx::HvgFlavor::seurat_v3 : scx::HvgFlavor::seurat;
    if (a.flavor != "seurat" && a.flavor != "seurat_v3") throw scx::Error("anchor_tool: --flavor must be seurat or seurat_v3");
    o.n_top_genes = std::min<std::int64_t>(a.n_top, std::max(counts.n_cols, lognorm.n_cols)); // either may be empty
    o.threads = a.threads;
    return scx::highly_variable_genes(o.flavor == scx::HvgFlavor::seurat_v3 ? counts : lognorm, o);
}

void write_vector(const fs::path& path, const Eigen::VectorXd& v) {
    scx::RowMatrixF m(v.size(), 1);
    for (Eigen::Index i = 0; i < v.size(); ++i) m(i, 0) = static_cast<float>(v[i]);
    scx::write_npy(path, m);
}

void write_indices(const fs::path& path, const std::vector<std::int64_t>& v) {
    const std::vector<std::int64_t> shape{static_cast<std::int64_t>(v.size())};
    scx::write_npy(path, v.data(), shape);
}

nlohmann::json run_stats(const Args& a) {
    std::ifstream in(fs::path(a.out) / "stats_input.json");
    if (!in) throw scx::Error("anchor_tool: " + (fs::path(a.out) / "stats_input.json").string() + " is missing");
    const auto input = nlohmann::json::parse(in);
    nlohmann::json out;
    const auto t0 = Clock::now();
    out["spearman"] = scx::spearman(input["x"].get<std::vector<double>>(), input["y"].get<std::vector<double>>());
    std::vector<double> p;
    for (const auto& d : input["wilcoxon"]) p.push_back(scx::wilcoxon_signed_rank(d.get<std::vector<double>>()).pvalue);
    out["wilcoxon_p"] = p;
    out["bh"] = scx::benjamini_hochberg(input["pvalues"].get<std::vector<double>>());
    out["seconds"] = seconds_since(t0);
    std::ofstream(fs::path(a.out) / "stats_ours.json") << out.dump(1);
    return {{"seconds", out["seconds"]}};
}

/// apply and read_stream: neither reads the whole dataset first.
nlohmann::json run_stream_step(const Args& a) {
    nlohmann::json j;
    const auto t0 = Clock::now();
    if (a.step == "apply") {
        if (a.algorithm.empty()) throw scx::Error("anchor_tool: apply needs --algorithm");
        scx::ApplyFileOptions o;
        o.algorithm = a.algorithm;
        o.input = a.input;
        o.out = (fs::path(a.out) / "applied.h5ad").string();
        o.apply.chunk_rows = a.rows;
        o.apply.threads = a.threads;
        const auto r = scx::apply_file(o);
        j["seconds"] = seconds_since(t0);
        j["cells"] = r.cells;
        j["latent_dim"] = r.latent_dim;
        j["streamed"] = r.streamed;
        j["output"] = o.out;
        return j;
    }
    // apply rounds its blocks up to whole 256-row blocks: the read takes the same rows
    const std::int64_t rows = (a.rows + 255) / 256 * 256;
    scx::H5adRowReader reader(a.input, {});
    scx::CsrMatrix block; // reused, as apply reuses its blocks
    double checksum = 0;
    std::int64_t nnz = 0;
    for (std::int64_t b = 0; b < reader.n_rows(); b += rows) {
        reader.read_rows_into(b, std::min(reader.n_rows(), b + rows), block);
        for (std::int64_t k = 0; k < block.nnz(); k += 4099) checksum += block.values[k]; // as h5ad_read_tool
        nnz += block.nnz();
    }
    j["seconds"] = seconds_since(t0);
    j["cells"] = reader.n_rows();
    j["nnz"] = nnz;
    j["checksum"] = checksum;
    return j;
}

nlohmann::json run_step(const Args& a) {
    if (a.step == "stats") return run_stats(a);
    if (a.step == "apply" || a.step == "read_stream") return run_stream_step(a);
    nlohmann::json j;
    auto t0 = Clock::now();
    scx::Dataset d = scx::read_dataset(a.input);
    j["read_seconds"] = seconds_since(t0);
    j["cells"] = d.matrix.n_rows;
    j["genes"] = d.matrix.n_cols;
    const fs::path out(a.out);
    if (a.step == "read") {
        double checksum = 0;
        for (const float v : d.matrix.values) checksum += v;
        j["nnz"] = d.matrix.nnz();
        j["checksum"] = checksum;
        j["seconds"] = j["read_seconds"];
        // X alone, as the h5py floor reads it (after the whole read, so the file is in the page
        // cache for both, as it is for h5py in anchors.py).
        t0 = Clock::now();
        const auto x = scx::read_h5ad_matrix(a.input, {});
        j["x_seconds"] = seconds_since(t0);
        j["x_nnz"] = x.nnz();
        return j;
    }
    if (a.step == "hvg") {
        t0 = Clock::now();
        const auto lognorm = a.flavor == "seurat" ? log_normalized(d.matrix, a.threads) : scx::CsrMatrix{};
        const auto hvg = select_hvg(d.matrix, lognorm, a);
        j["seconds"] = seconds_since(t0);
        write_indices(out / ("hvg_" + a.flavor + "_ours.npy"), hvg.selected);
        return j;
    }
    if (a.step == "celltypist") {
        const auto test = test_mask(d, a);
        const auto labels = scx::column_as_strings(obs_column(d, a.label_key), a.label_key);
        t0 = Clock::now();
        const scx::RowMatrixF x = dense(log_normalized(d.matrix, a.threads));
        j["prepare_seconds"] = seconds_since(t0);
        std::map<std::string, std::int64_t> codes;
        for (std::size_t i = 0; i < labels.size(); ++i)
            if (!test[i]) codes.emplace(labels[i], 0);
        std::vector<std::string> names;
        for (auto& [name, code] : codes) {
            code = static_cast<std::int64_t>(names.size());
            names.push_back(name);
        }
        std::vector<std::int64_t> y;
        for (std::size_t i = 0; i < labels.size(); ++i)
            if (!test[i]) y.push_back(codes.at(labels[i]));
        t0 = Clock::now();
        const auto fit = scx::fit_celltypist(masked_rows(x, test, false), y, {.threads = a.threads});
        const auto predicted = fit.model.predict(masked_rows(x, test, true));
        j["seconds"] = seconds_since(t0);
        nlohmann::json labels_out = nlohmann::json::array();
        for (const auto c : predicted) labels_out.push_back(names[static_cast<std::size_t>(fit.model.classes[static_cast<std::size_t>(c)])]);
        std::ofstream(out / "celltypist_ours.json") << labels_out.dump();
        return j;
    }
    t0 = Clock::now();
    // DPT and Palantir with seurat HVG need the counts no more: they are normalised in place
    // (the same arithmetic as log_normalized's copy), so no second copy of X is ever held
    const bool counts_done = a.step != "scvi" && a.flavor == "seurat";
    scx::CsrMatrix lognorm;
    if (counts_done) {
        lognorm = std::move(d.matrix);
        d.matrix = scx::CsrMatrix{};
        scx::normalize_total_in_place(lognorm, {.target_sum = 1e4, .threads = a.threads});
        scx::log1p_in_place(lognorm, a.threads);
    } else {
        lognorm = log_normalized(d.matrix, a.threads);
    }
    const auto hvg = select_hvg(d.matrix, lognorm, a);
    j["prepare_seconds"] = seconds_since(t0);
    if (a.step == "scvi") {
        const scx::RowMatrixF counts = dense(scx::select_columns(d.matrix, hvg.selected));
        t0 = Clock::now();
        scx::ScviOptions o;
        o.max_epochs = a.epochs;
        o.seed = a.seed;
        o.threads = a.threads;
        const auto model = scx::train_scvi(counts, o);
        const scx::RowMatrixF z = scx::scvi_latent_mean(model.parameters, counts);
        j["seconds"] = seconds_since(t0);
        j["epochs"] = model.epochs;
        j["epoch_loss"] = model.epoch_loss; // mean minibatch loss per epoch, as scvi-tools' train_loss_epoch
        scx::write_npy(out / ("scvi_ours_seed" + std::to_string(a.seed) + ".npy"), z);
        return j;
    }
    const scx::RowMatrixF x = dense(scx::select_columns(lognorm, hvg.selected));
    // the method alone holds memory from here (1M cells: the counts and their log, 9.6 GB)
    lognorm = scx::CsrMatrix{};
    d.matrix = scx::CsrMatrix{};
    const auto root = root_cell(d, a.root_key);
    j["root"] = root;
    if (a.step == "dpt") {
        t0 = Clock::now();
        scx::ScanpyDptOptions o;
        o.threads = a.threads;
        o.knn.threads = a.threads;
        if (a.knn == "nn_descent") o.knn.algorithm = scx::KnnAlgorithm::nn_descent;
        else if (a.knn != "automatic") throw scx::Error("anchor_tool: --knn must be automatic or nn_descent");
        const auto r = scx::scanpy_dpt(x, root, o);
        j["seconds"] = seconds_since(t0);
        j["approximate_knn"] = r.knn.approximate;
        const std::string tag = a.knn == "automatic" ? "" : "_" + a.knn;
        write_vector(out / ("dpt_ours" + tag + ".npy"), r.pseudotime);
        // the kNN and the space it was found in, for its recall against the exact neighbours
        scx::write_npy(out / ("dpt_ours" + tag + "_pca.npy"), r.representation);
        const std::int64_t knn_shape[] = {r.knn.index.rows(), r.knn.index.cols()};
        scx::write_npy(out / ("dpt_ours" + tag + "_knn.npy"), r.knn.index.data(), knn_shape);
        return j;
    }
    if (a.step == "palantir") {
        t0 = Clock::now();
        scx::PalantirOptions o;
        o.seed = a.seed;
        o.threads = a.threads;
        o.pseudotime.threads = a.threads;
        const auto r = scx::run_palantir(x, root, o);
        j["seconds"] = seconds_since(t0);
        j["start_cell"] = r.start_cell;
        write_vector(out / ("palantir_ours_seed" + std::to_string(a.seed) + ".npy"), r.pseudotime.pseudotime);
        return j;
    }
    throw scx::Error("anchor_tool: unknown step " + a.step);
}

} // namespace

int main(int argc, char** argv) {
    try {
        const Args a = parse_args(argc, argv);
        if (a.threads > 0) omp_set_num_threads(a.threads);
        fs::create_directories(a.out);
        auto j = run_step(a);
        j["step"] = a.step;
        j["threads"] = a.threads > 0 ? a.threads : omp_get_max_threads();
        j["peak_mb"] = scx::peak_resident_mb(); // this program's own, not run.py's memory at fork
        std::printf("%s\n", j.dump().c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "anchor_tool: %s\n", e.what());
        return 1;
    }
    return 0;
}

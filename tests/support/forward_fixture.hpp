#pragma once
// The PyTorch forward-pass fixtures of tests/fixtures/forward (made by
// tests/fixtures/make_forward_fixtures.py): the padded batch of cells, an attention
// visitor that keeps every map, and the largest differences from torch's outputs.

#include "scextract/io/npy.hpp"
#include "scextract/model/scgpt_forward.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace scx::test {

inline std::filesystem::path forward_fixture_dir(const std::string& config) {
    return std::filesystem::path(SCX_SOURCE_DIR) / "tests/fixtures/forward" / config;
}

/// The fixture's padded batch (gene_ids.npy, values.npy, lengths.npy in @p dir), unpadded into cells.
inline std::vector<scx::TokenizedCell> load_forward_cells(const std::filesystem::path& dir) {
    const auto ids = scx::read_npy(dir / "gene_ids.npy");
    const auto id = ids.to_int64();
    const auto val = scx::read_npy(dir / "values.npy").to_float();
    const auto lengths = scx::read_npy(dir / "lengths.npy").to_int64();
    const std::int64_t lmax = ids.shape.at(1);
    std::vector<scx::TokenizedCell> cells(lengths.size());
    for (std::size_t i = 0; i < lengths.size(); ++i) {
        cells[i].gene_ids.assign(id.begin() + i * lmax, id.begin() + i * lmax + lengths[i]);
        cells[i].values.assign(val.begin() + i * lmax, val.begin() + i * lmax + lengths[i]);
    }
    return cells;
}

/// One attention map as the visitor delivered it.
struct StoredSlice {
    std::int64_t chunk, cell, layer, head, length;
    std::vector<float> probs;
};

/// Keeps every slice, one list per chunk (no locks needed, see AttentionVisitor).
class StoreAll : public scx::AttentionVisitor {
public:
    void begin(std::int64_t n_cells, std::int64_t n_chunks) override {
        ++begin_calls;
        begun_cells = n_cells;
        per_chunk.assign(n_chunks, {});
    }
    void visit(const scx::AttentionSlice& s) override {
        per_chunk.at(s.chunk).push_back(
            {s.chunk, s.cell, s.layer, s.head, s.length, std::vector<float>(s.probs, s.probs + s.length * s.length)});
    }
    /// All slices in chunk order.
    std::vector<StoredSlice> all() const {
        std::vector<StoredSlice> out;
        for (const auto& c : per_chunk) out.insert(out.end(), c.begin(), c.end());
        return out;
    }
    int begin_calls = 0;
    std::int64_t begun_cells = -1;
    std::vector<std::vector<StoredSlice>> per_chunk;
};

/// Largest absolute differences between a forward run (all outputs, every attention
/// map) and torch's reference files in @p ref_dir. A negative entry was not comparable.
struct TorchGaps {
    double hidden = -1;   ///< vs hidden.npy: torch's padded batch with a key padding mask
    double unpadded = -1; ///< vs hidden_unpadded.npy: torch on each cell alone
    double first = -1, mean = -1, attention = -1;
    double worst() const { return std::max({hidden, unpadded, first, mean, attention}); }
};

inline TorchGaps torch_gaps(const scx::ScGptForwardResult& r, const std::vector<StoredSlice>& slices,
                            const std::vector<scx::TokenizedCell>& cells, const std::filesystem::path& ref_dir) {
    TorchGaps g;
    const auto hidden = scx::read_npy(ref_dir / "hidden.npy");
    const auto hidden_ref = hidden.to_float();
    const auto unpadded = scx::read_npy(ref_dir / "hidden_unpadded.npy").to_float();
    const std::int64_t lmax = hidden.shape.at(1), d = hidden.shape.at(2);
    if (r.hidden.size() != cells.size()) return g;
    g.hidden = g.unpadded = 0;
    std::int64_t offset = 0;
    for (std::size_t i = 0; i < cells.size(); ++i) {
        const auto len = static_cast<std::int64_t>(cells[i].gene_ids.size());
        if (r.hidden[i].rows() != len || r.hidden[i].cols() != d) return TorchGaps{};
        for (std::int64_t t = 0; t < len; ++t) {
            for (std::int64_t j = 0; j < d; ++j) {
                const double mine = r.hidden[i](t, j);
                g.hidden = std::max(g.hidden, std::abs(mine - hidden_ref[(i * lmax + t) * d + j]));
                g.unpadded = std::max(g.unpadded, std::abs(mine - unpadded[(offset + t) * d + j]));
            }
        }
        offset += len;
    }
    const auto first_ref = scx::read_npy(ref_dir / "first.npy").to_matrix();
    const auto mean_ref = scx::read_npy(ref_dir / "mean.npy").to_matrix();
    if (r.first.rows() == first_ref.rows() && r.first.cols() == first_ref.cols())
        g.first = (r.first - first_ref).cwiseAbs().maxCoeff();
    if (r.mean.rows() == mean_ref.rows() && r.mean.cols() == mean_ref.cols())
        g.mean = (r.mean - mean_ref).cwiseAbs().maxCoeff();

    const auto att = scx::read_npy(ref_dir / "attention.npy");
    const auto att_ref = att.to_float();
    const std::int64_t n_layers = att.shape.at(1), n_heads = att.shape.at(2);
    if (static_cast<std::int64_t>(slices.size()) != static_cast<std::int64_t>(cells.size()) * n_layers * n_heads)
        return g;
    g.attention = 0;
    for (const auto& s : slices) {
        for (std::int64_t q = 0; q < s.length; ++q) {
            for (std::int64_t k = 0; k < s.length; ++k) {
                const std::size_t idx = (((s.cell * n_layers + s.layer) * n_heads + s.head) * lmax + q) * lmax + k;
                g.attention =
                    std::max(g.attention, std::abs(static_cast<double>(s.probs[q * s.length + k]) - att_ref[idx]));
            }
        }
    }
    return g;
}

} // namespace scx::test

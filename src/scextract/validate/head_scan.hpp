#pragma once
/// @file head_scan.hpp
/// @brief METHOD.md's head scan: a Stage-2 adaptor per single head, scored zero-shot on
/// held-out donors, ranked by correlation with the ruler after regressing out donor and
/// tissue.

#include "scextract/adapt/adaptor.hpp"
#include "scextract/core/operator_set.hpp"
#include "scextract/core/progress.hpp"
#include "scextract/core/ruler.hpp"
#include "scextract/stats/statistics.hpp" // spearman, used by the scan and its callers
#include "scextract/extract/compress.hpp"
#include "scextract/readout/algorithm_pipeline.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

struct HeadScanOptions {
    /// The per-head adaptor: anchor variant; fewer steps than a final fit, since only the
    /// ranking matters (documented in docs/cli.md).
    AdaptorOptions adaptor = [] {
        auto o = adaptor_options(AdaptorVariant::anchor);
        o.epochs = 400;
        return o;
    }();
    /// Donors held out for scoring; empty: the last ceil(20%) of the donors in sorted order.
    std::vector<std::string> test_donors;
    Orientation orientation = Orientation::xA;
    double target_sum = 1e4;
    std::int64_t min_anchor_cells = 5;
    int threads = 0;
    ProgressCallback progress; ///< (heads done, heads)
};

struct HeadScore {
    std::int64_t layer = 0, head = 0;
    /// Spearman correlation between latent arc distances and ruler distances over pairs of
    /// held-out anchors, after the anchors' latents are regressed on donor and tissue.
    double score = 0;
    double score_unadjusted = 0; ///< the same without regressing out donor and tissue
    double adaptor_loss = 0;     ///< training loss of the head's adaptor
};

struct HeadScanResult {
    std::vector<HeadScore> heads; ///< best first (ties: layer, then head)
    std::vector<std::string> train_donors, test_donors;
    std::int64_t train_anchors = 0, test_anchors = 0;
};

/// Scans every head of @p ops. Throws scx::Error when fewer than two donors exist, the
/// held-out donors give fewer than three anchors, or no label maps to the ruler.
HeadScanResult scan_heads(const OperatorSet& ops, const Ruler& ruler, const AlgorithmTrainingData& data,
                          const HeadScanOptions& options);

} // namespace scx

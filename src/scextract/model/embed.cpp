#include "scextract/model/embed.hpp"

#include "scextract/core/error.hpp"
#include "scextract/model/scgpt_forward.hpp"
#include "scextract/preprocess/gene_alignment.hpp"
#include "scextract/preprocess/normalize.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace scx {

RowMatrixF scgpt_avg_pool(const RowMatrixF& mean, const std::vector<std::int64_t>& lengths, const RowMatrixF* pad_state,
                          std::int64_t batch_size) {
    const auto n = static_cast<std::int64_t>(lengths.size());
    if (mean.rows() != n) throw Error(fmt::format("scGPT avg-pool: {} means for {} cells", mean.rows(), n));
    if (pad_state != nullptr && (pad_state->rows() != n || pad_state->cols() != mean.cols()))
        throw Error("scGPT avg-pool: padding states do not match the cells");
    if (batch_size < 1) throw Error(fmt::format("scGPT avg-pool: batch size is {}, must be >= 1", batch_size));
    RowMatrixF out(n, mean.cols());
    for (std::int64_t begin = 0; begin < n; begin += batch_size) {
        const std::int64_t end = std::min(n, begin + batch_size);
        const std::int64_t lmax = *std::max_element(lengths.begin() + begin, lengths.begin() + end);
        for (std::int64_t i = begin; i < end; ++i) {
            Eigen::RowVectorXd row = mean.row(i).cast<double>() * static_cast<double>(lengths[i]);
            if (pad_state != nullptr) row += pad_state->row(i).cast<double>() * static_cast<double>(lmax - lengths[i]);
            out.row(i) = (row / static_cast<double>(lmax)).cast<float>();
        }
    }
    return out;
}

EmbedResult embed_cells(const ScGptCheckpoint& checkpoint, const CsrMatrix& counts, const std::vector<std::string>& symbols,
                        const EmbedOptions& options) {
    if (options.pooling == EmbedPooling::cls && options.tokenizer == EmbedTokenizer::atlas)
        throw UsageError("--pool cls needs the official tokenizer: the atlas tokenizer has no <cls> token");
    if (static_cast<std::int64_t>(symbols.size()) != counts.n_cols)
        throw Error(fmt::format("{} gene symbols for {} genes", symbols.size(), counts.n_cols));
    EmbedResult result;
    const auto alignment = align_genes(symbols, checkpoint.vocab);
    result.genes_in_vocab = static_cast<std::int64_t>(alignment.positions.size());
    result.genes_not_in_vocab = alignment.unmatched;
    if (alignment.positions.empty())
        throw Error(fmt::format("none of the {} genes is in the model vocabulary (check the gene symbol column)", counts.n_cols));

    std::vector<TokenizedCell> cells;
    if (options.tokenizer == EmbedTokenizer::atlas) {
        // normalize_total over all genes before the vocabulary subset, as the atlas feature does
        CsrMatrix lognorm = counts;
        normalize_total_in_place(lognorm, {.target_sum = options.target_sum, .threads = options.threads});
        log1p_in_place(lognorm, options.threads);
        AtlasTokenizerOptions o;
        o.max_tokens = options.max_tokens;
        o.threads = options.threads;
        cells = tokenize_atlas(select_columns(lognorm, alignment.positions), alignment.vocab_ids, o);
    } else {
        const auto cls = checkpoint.vocab.find("<cls>");
        if (cls == checkpoint.vocab.end()) throw Error("the vocabulary has no <cls> token, which the official tokenizer needs");
        OfficialTokenizerOptions o;
        o.n_bins = checkpoint.config.n_bins;
        o.max_seq_len = std::min<std::int64_t>(checkpoint.config.max_seq_len, options.max_tokens);
        o.pad_value = static_cast<float>(checkpoint.config.pad_value);
        o.cls_id = cls->second;
        o.seed = options.seed;
        o.threads = options.threads;
        cells = tokenize_official(select_columns(counts, alignment.positions), alignment.vocab_ids, o);
    }

    // cells without a token cannot run through the encoder: embed the others, NaN these
    std::vector<std::int64_t> runnable;
    std::vector<TokenizedCell> to_run;
    for (std::size_t i = 0; i < cells.size(); ++i) {
        result.total_tokens += static_cast<std::int64_t>(cells[i].gene_ids.size());
        if (cells[i].gene_ids.empty()) {
            ++result.empty_cells;
            continue;
        }
        runnable.push_back(static_cast<std::int64_t>(i));
        to_run.push_back(std::move(cells[i]));
    }
    ScGptForwardOptions f;
    f.threads = options.threads;
    f.batch_size = options.batch_size;
    f.want_mean = options.pooling != EmbedPooling::cls;
    f.want_first = options.pooling == EmbedPooling::cls;
    const bool computed_pads = options.pooling == EmbedPooling::scgpt_avg && options.padded_states == PaddedStates::computed;
    if (computed_pads) {
        const auto pad = checkpoint.vocab.find(checkpoint.config.pad_token);
        if (pad == checkpoint.vocab.end())
            throw Error(fmt::format("the vocabulary has no pad token '{}'", checkpoint.config.pad_token));
        f.want_pad_state = true;
        f.pad_id = pad->second;
        f.pad_value = static_cast<float>(checkpoint.config.pad_value);
    }
    const auto out = run_scgpt_forward(checkpoint.weights, to_run, f);
    RowMatrixF avg;
    if (options.pooling == EmbedPooling::scgpt_avg) {
        std::vector<std::int64_t> lengths;
        for (const auto& c : to_run) lengths.push_back(static_cast<std::int64_t>(c.gene_ids.size()));
        avg = scgpt_avg_pool(out.mean, lengths, computed_pads ? &out.pad_state : nullptr, options.pool_batch_size);
    }
    const RowMatrixF& pooled =
        options.pooling == EmbedPooling::mean ? out.mean : (options.pooling == EmbedPooling::cls ? out.first : avg);

    const auto d = checkpoint.config.d_model;
    result.embedding = RowMatrixF::Constant(counts.n_rows, d, std::numeric_limits<float>::quiet_NaN());
    for (std::size_t k = 0; k < runnable.size(); ++k) {
        auto row = result.embedding.row(runnable[k]);
        row = pooled.row(static_cast<Eigen::Index>(k));
        if (options.l2_normalize) {
            const float norm = row.norm();
            if (norm > 0) row /= norm;
        }
    }
    return result;
}

} // namespace scx

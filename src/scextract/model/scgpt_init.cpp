#include "scextract/model/scgpt_init.hpp"

#include "scextract/core/checked_math.hpp"
#include "scextract/core/error.hpp"
#include "scextract/core/random.hpp"
#include "scextract/model/scgpt_forward.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>
#include <numbers>
#include <set>
#include <string_view>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx {

namespace {

// --- deterministic random numbers: core's xoshiro256**, one stream per name ---

std::uint64_t fnv1a(std::string_view s) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (const char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ULL;
    }
    return h;
}

/// One stream per (seed, name): a tensor's values depend on nothing else. The index and
/// normal draws are this file's own, not Rng's (floor(u n); Box-Muller on 1 - u), so that
/// every model made so far keeps its bits.
class NamedStream {
  public:
    NamedStream(std::uint64_t seed, std::string_view name) : rng_(Rng::from_splitmix_state(seed ^ fnv1a(name))) {}

    /// [0, 1) with 53 random bits.
    double uniform() { return rng_.uniform(); }

    /// An index in [0, n).
    std::int64_t below(std::int64_t n) { return static_cast<std::int64_t>(uniform() * static_cast<double>(n)); }

    /// N(0, 1) by Box-Muller, both outputs used.
    double normal() {
        if (have_spare_) {
            have_spare_ = false;
            return spare_;
        }
        const double u1 = 1.0 - uniform(); // (0, 1]
        const double u2 = uniform();
        const double r = std::sqrt(-2.0 * std::log(u1));
        spare_ = r * std::sin(2.0 * std::numbers::pi * u2);
        have_spare_ = true;
        return r * std::cos(2.0 * std::numbers::pi * u2);
    }

  private:
    Rng rng_;
    double spare_ = 0;
    bool have_spare_ = false;
};

Tensor float_tensor(std::vector<std::int64_t> shape, const std::vector<float>& values) {
    Tensor t;
    t.dtype = TensorDType::float32;
    t.shape = std::move(shape);
    auto bytes = std::make_shared<std::vector<std::byte>>(values.size() * sizeof(float));
    if (!values.empty()) std::memcpy(bytes->data(), values.data(), bytes->size());
    t.storage = std::move(bytes);
    return t;
}

std::int64_t product(const std::vector<std::int64_t>& shape) {
    std::int64_t n = 1;
    for (const auto d : shape) {
        const auto next = checked_mul(n, d);
        if (!next) throw Error("scGPT init: tensor size overflows 64 bits");
        n = *next;
    }
    return n;
}

/// Builds tensors in module order, each from its own stream.
class StateBuilder {
  public:
    explicit StateBuilder(std::uint64_t seed) : seed_(seed) {}

    void uniform(const std::string& name, std::vector<std::int64_t> shape, double lo, double hi) {
        NamedStream rng(seed_, name);
        std::vector<float> v(static_cast<std::size_t>(product(shape)));
        for (auto& x : v) x = static_cast<float>(lo + (hi - lo) * rng.uniform());
        out_.emplace_back(name, float_tensor(std::move(shape), v));
    }

    void normal(const std::string& name, std::vector<std::int64_t> shape) {
        NamedStream rng(seed_, name);
        std::vector<float> v(static_cast<std::size_t>(product(shape)));
        for (auto& x : v) x = static_cast<float>(rng.normal());
        out_.emplace_back(name, float_tensor(std::move(shape), v));
    }

    void constant(const std::string& name, std::vector<std::int64_t> shape, float value) {
        std::vector<float> v(static_cast<std::size_t>(product(shape)), value);
        out_.emplace_back(name, float_tensor(std::move(shape), v));
    }

    /// nn.Linear(in, out[, bias]): U(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
    void linear(const std::string& prefix, std::int64_t in, std::int64_t out, bool bias = true) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(in));
        uniform(prefix + ".weight", {out, in}, -bound, bound);
        if (bias) uniform(prefix + ".bias", {out}, -bound, bound);
    }

    /// nn.LayerNorm(d): weight 1, bias 0.
    void layer_norm(const std::string& prefix, std::int64_t d) {
        constant(prefix + ".weight", {d}, 1.0F);
        constant(prefix + ".bias", {d}, 0.0F);
    }

    TensorMap take() && { return std::move(out_); }

  private:
    std::uint64_t seed_;
    TensorMap out_;
};

// --- small dense helpers for the planting (double precision, column vectors) ---

using Matrix = Eigen::MatrixXd;

/// Columns made orthonormal (modified Gram-Schmidt, twice) when @p orthonormal, else just unit length.
void normalise_columns(Matrix& m, bool orthonormal) {
    for (Eigen::Index j = 0; j < m.cols(); ++j) {
        if (orthonormal)
            for (int pass = 0; pass < 2; ++pass)
                for (Eigen::Index k = 0; k < j; ++k) m.col(j) -= m.col(k).dot(m.col(j)) * m.col(k);
        const double n = m.col(j).norm();
        if (!(n > 1e-12)) throw Error("scGPT planting: degenerate random direction (rank-deficient draw)");
        m.col(j) /= n;
    }
}

Matrix gaussian(NamedStream& rng, Eigen::Index rows, Eigen::Index cols) {
    Matrix m(rows, cols);
    for (Eigen::Index j = 0; j < cols; ++j) // column by column: a column's values do not depend on rows of others
        for (Eigen::Index i = 0; i < rows; ++i) m(i, j) = rng.normal();
    return m;
}

Tensor* find_tensor(TensorMap& state, const std::string& name) {
    for (auto& [k, t] : state)
        if (k == name) return &t;
    return nullptr;
}

/// The float values of @p name, checked to have @p shape.
std::vector<float> tensor_values(TensorMap& state, const std::string& name, const std::vector<std::int64_t>& shape,
                                 Tensor*& where) {
    where = find_tensor(state, name);
    if (!where) throw Error(fmt::format("scGPT planting: the state dict has no '{}'", name));
    if (where->shape != shape)
        throw Error(fmt::format("scGPT planting: '{}' has shape [{}], expected [{}]", name, fmt::join(where->shape, ", "),
                                fmt::join(shape, ", ")));
    return where->to_float(fmt::format("scGPT planting: '{}'", name));
}

bool is_special_token(const std::string& s) { return s.size() >= 2 && s.front() == '<' && s.back() == '>'; }

} // namespace

const char* scgpt_size_name(ScGptSize size) {
    switch (size) {
    case ScGptSize::tiny: return "tiny";
    case ScGptSize::small: return "small";
    case ScGptSize::whole_human: return "whole-human";
    }
    return "?";
}

ScGptSize parse_scgpt_size(const std::string& name) {
    for (const auto s : {ScGptSize::tiny, ScGptSize::small, ScGptSize::whole_human})
        if (name == scgpt_size_name(s)) return s;
    throw UsageError(fmt::format("unknown model size '{}' (expected tiny, small or whole-human)", name));
}

ScGptConfig scgpt_size_config(ScGptSize size) {
    ScGptConfig c; // whole-human defaults
    switch (size) {
    case ScGptSize::tiny:
        c.n_layers = 3;
        c.n_heads = 8;
        c.d_model = 128;
        c.d_hid = 128;
        break;
    case ScGptSize::small:
        c.n_layers = 4;
        c.n_heads = 8;
        c.d_model = 256;
        c.d_hid = 256;
        break;
    case ScGptSize::whole_human:
        c.n_layers = 12;
        c.n_heads = 8;
        c.d_model = 512;
        c.d_hid = 512;
        break;
    }
    return c;
}

TensorMap init_scgpt_state_dict(const ScGptConfig& config, std::int64_t vocab_size, const ScGptInitOptions& options) {
    const auto d = config.d_model, h = config.d_hid;
    if (vocab_size <= 0 || d <= 0 || h <= 0 || config.n_layers <= 0 || config.n_heads <= 0)
        throw Error(fmt::format("scGPT init: sizes must be positive (vocabulary {}, embsize {}, d_hid {}, nlayers {}, "
                                "nheads {})",
                                vocab_size, d, h, config.n_layers, config.n_heads));
    if (d % config.n_heads != 0)
        throw Error(fmt::format("scGPT init: nheads ({}) does not divide embsize ({})", config.n_heads, d));

    StateBuilder b(options.seed);
    // GeneEncoder: nn.Embedding's N(0,1) is overwritten by TransformerModel.init_weights()
    b.uniform("encoder.embedding.weight", {vocab_size, d}, -0.1, 0.1);
    b.layer_norm("encoder.enc_norm", d);
    if (options.unused_modules) b.normal("flag_encoder.weight", {2, d});
    b.linear("value_encoder.linear1", 1, d);
    b.linear("value_encoder.linear2", d, d);
    b.layer_norm("value_encoder.norm", d);
    for (std::int64_t l = 0; l < config.n_layers; ++l) {
        const auto p = fmt::format("transformer_encoder.layers.{}.", l);
        b.linear(p + "self_attn.Wqkv", d, 3 * d);
        b.linear(p + "self_attn.out_proj", d, d);
        b.linear(p + "linear1", d, h);
        b.linear(p + "linear2", h, d);
        b.layer_norm(p + "norm1", d);
        b.layer_norm(p + "norm2", d);
    }
    if (options.unused_modules) {
        b.linear("decoder.fc.0", d, d);
        b.linear("decoder.fc.2", d, d);
        b.linear("decoder.fc.4", d, 1);
        b.linear("mvc_decoder.gene2query", d, d);
        b.linear("mvc_decoder.W", d, d, false);
    }
    return std::move(b).take();
}

std::vector<AttentionHeadRef> parse_head_list(const std::string& text) {
    std::vector<AttentionHeadRef> out;
    std::size_t start = 0;
    auto number = [&](std::string_view s, std::int64_t& v) {
        const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        return ec == std::errc() && p == s.data() + s.size() && !s.empty() && v >= 0;
    };
    while (start <= text.size()) {
        auto end = text.find(',', start);
        if (end == std::string::npos) end = text.size();
        const std::string_view item(text.data() + start, end - start);
        const auto colon = item.find(':');
        AttentionHeadRef r;
        if (colon == std::string_view::npos || !number(item.substr(0, colon), r.layer) ||
            !number(item.substr(colon + 1), r.head))
            throw UsageError(fmt::format("bad head '{}' in '{}': expected layer:head with 0-based numbers, e.g. 2:5",
                                         item, text));
        if (std::find(out.begin(), out.end(), r) != out.end())
            throw UsageError(fmt::format("head {}:{} is listed twice in '{}'", r.layer, r.head, text));
        out.push_back(r);
        start = end + 1;
    }
    return out;
}

ScGptPlantResult plant_gene_programs(TensorMap& state, const ScGptConfig& config,
                                     const std::unordered_map<std::string, std::int64_t>& vocab,
                                     const std::vector<GeneProgram>& programs, const ScGptPlantOptions& options) {
    const auto d = config.d_model;
    const auto dh = config.head_dim();
    if (options.heads.empty()) throw Error("scGPT planting: no head to plant");
    for (const auto& hr : options.heads)
        if (hr.layer < 0 || hr.layer >= config.n_layers || hr.head < 0 || hr.head >= config.n_heads)
            throw Error(fmt::format("scGPT planting: head {}:{} does not exist (the model has {} layers x {} heads, "
                                    "0-based)",
                                    hr.layer, hr.head, config.n_layers, config.n_heads));
    if (!(options.strength > 0) || !std::isfinite(options.strength))
        throw Error(fmt::format("scGPT planting: strength must be positive, got {}", options.strength));
    if (!(options.code_cosine > 0 && options.code_cosine < 1))
        throw Error(fmt::format("scGPT planting: code_cosine must lie in (0, 1), got {}", options.code_cosine));

    ScGptPlantResult res;
    res.heads = options.heads;
    res.strength = options.strength;
    res.code_cosine = options.code_cosine;

    // which genes each planted program has in the vocabulary
    std::vector<std::vector<std::int64_t>> program_ids;
    for (const auto& prog : programs) {
        PlantedProgram pp;
        pp.name = prog.name;
        std::vector<std::int64_t> ids;
        std::unordered_set<std::string> seen;
        for (const auto& g : prog.genes) {
            if (!seen.insert(g).second) continue;
            const auto it = vocab.find(g);
            if (it == vocab.end() || is_special_token(g)) pp.missing.push_back(g);
            else {
                pp.genes.push_back(g);
                ids.push_back(it->second);
            }
        }
        pp.planted = static_cast<std::int64_t>(ids.size()) >= std::max<std::int64_t>(options.min_genes, 1);
        if (pp.planted) program_ids.push_back(std::move(ids));
        res.programs.push_back(std::move(pp));
    }
    const auto P = static_cast<Eigen::Index>(program_ids.size());
    if (P == 0)
        throw Error(fmt::format("scGPT planting: none of the {} programs has {} or more genes in the vocabulary",
                                programs.size(), options.min_genes));
    res.n_programs = P;

    // 1. program codes: random, orthogonal to the all-ones vector (LayerNorm's centring keeps them)
    NamedStream code_rng(options.seed, "plant/program-codes");
    Matrix U = gaussian(code_rng, d, P);
    for (Eigen::Index j = 0; j < P; ++j) U.col(j).array() -= U.col(j).mean();
    res.codes_orthonormal = P <= d - 1;
    normalise_columns(U, res.codes_orthonormal);

    // each gene's code: its programs' codes summed and normalised
    std::vector<std::int64_t> gene_order; // first appearance, for reproducible iteration
    std::unordered_map<std::int64_t, Eigen::VectorXd> code_of;
    std::unordered_map<std::int64_t, int> n_programs_of;
    for (Eigen::Index p = 0; p < P; ++p)
        for (const auto id : program_ids[static_cast<std::size_t>(p)]) {
            auto [it, fresh] = code_of.emplace(id, Eigen::VectorXd::Zero(d));
            if (fresh) gene_order.push_back(id);
            it->second += U.col(p);
            ++n_programs_of[id];
        }
    res.n_genes = static_cast<std::int64_t>(gene_order.size());
    for (const auto& [id, n] : n_programs_of) res.n_multi_program_genes += n > 1 ? 1 : 0;

    // 2. embedding rows: component along the code set so that cos(LN(row), code) = code_cosine
    {
        const std::string name = "encoder.embedding.weight";
        Tensor* t = find_tensor(state, name);
        const auto n_vocab = t && t->shape.size() == 2 ? t->shape[0] : 0;
        auto E = tensor_values(state, name, {n_vocab, d}, t);
        const double rho = options.code_cosine;
        double shift_sum = 0;
        res.measured_cosine_min = 1;
        res.measured_cosine_max = -1;
        for (const auto id : gene_order) {
            if (id < 0 || id >= n_vocab) throw Error(fmt::format("scGPT planting: token id {} outside the vocabulary", id));
            Eigen::VectorXd c = code_of[id];
            c /= c.norm();
            Eigen::Map<Eigen::VectorXf> row(E.data() + id * d, d);
            const Eigen::VectorXd x = row.cast<double>();
            const double proj = x.dot(c);
            const Eigen::VectorXd r = (x.array() - x.mean()).matrix() - proj * c; // c is orthogonal to ones
            const double target = rho * r.norm() / std::sqrt(1.0 - rho * rho);
            const Eigen::VectorXd x_new = x + (target - proj) * c;
            row = x_new.cast<float>();
            shift_sum += std::abs(target - proj);
            // what the encoder's LayerNorm (weight 1, bias 0, eps 1e-5) makes of it
            const Eigen::VectorXd xf = row.cast<double>();
            const Eigen::VectorXd centred = (xf.array() - xf.mean()).matrix();
            const double var = centred.squaredNorm() / static_cast<double>(d);
            const Eigen::VectorXd ln = centred / std::sqrt(var + 1e-5);
            const double cosine = ln.dot(c) / ln.norm();
            res.measured_cosine_min = std::min(res.measured_cosine_min, cosine);
            res.measured_cosine_max = std::max(res.measured_cosine_max, cosine);
        }
        res.code_shift_mean = shift_sum / static_cast<double>(gene_order.size());
        *t = float_tensor(t->shape, E);
        res.tensors.push_back(name);
    }

    // 3. the heads' query and key rows read the codes: + alpha * R_h U^T
    res.alpha = std::sqrt(options.strength * std::sqrt(static_cast<double>(dh))) /
                (options.code_cosine * std::sqrt(static_cast<double>(d)));
    res.readout_orthonormal = P <= dh;
    std::vector<std::int64_t> layers;
    for (const auto& hr : options.heads)
        if (std::find(layers.begin(), layers.end(), hr.layer) == layers.end()) layers.push_back(hr.layer);
    for (const auto layer : layers) {
        Tensor* t = nullptr;
        const auto name = fmt::format("transformer_encoder.layers.{}.self_attn.Wqkv.weight", layer);
        auto W = tensor_values(state, name, {3 * d, d}, t);
        for (const auto& hr : options.heads) {
            if (hr.layer != layer) continue;
            NamedStream rng(options.seed, fmt::format("plant/head-readout/{}:{}", hr.layer, hr.head));
            Matrix R = gaussian(rng, dh, P);
            normalise_columns(R, res.readout_orthonormal);
            const Matrix delta = res.alpha * R * U.transpose(); // dh x d
            for (const auto block : {std::int64_t{0}, d}) {     // query rows, then key rows
                for (std::int64_t i = 0; i < dh; ++i) {
                    float* row = W.data() + (block + hr.head * dh + i) * d;
                    for (std::int64_t j = 0; j < d; ++j) row[j] = static_cast<float>(row[j] + delta(i, j));
                }
            }
        }
        *t = float_tensor(t->shape, W);
        res.tensors.push_back(name);
    }
    return res;
}

std::vector<std::vector<std::int32_t>> program_membership(const std::unordered_map<std::string, std::int64_t>& vocab,
                                                          std::int64_t vocab_size,
                                                          const std::vector<GeneProgram>& programs) {
    std::vector<std::vector<std::int32_t>> out(static_cast<std::size_t>(std::max<std::int64_t>(vocab_size, 0)));
    for (std::size_t p = 0; p < programs.size(); ++p)
        for (const auto& g : programs[p].genes) {
            const auto it = vocab.find(g);
            if (it == vocab.end() || it->second < 0 || it->second >= vocab_size || is_special_token(g)) continue;
            auto& v = out[static_cast<std::size_t>(it->second)];
            if (v.empty() || v.back() != static_cast<std::int32_t>(p)) v.push_back(static_cast<std::int32_t>(p));
        }
    return out;
}

std::vector<TokenizedCell> make_program_probe_cells(const std::vector<std::vector<std::int32_t>>& membership,
                                                    const std::vector<std::int64_t>& special_ids,
                                                    const ProgramProbeOptions& options) {
    std::vector<std::vector<std::int64_t>> genes_of; // program -> ids
    std::vector<std::int64_t> background;
    const std::set<std::int64_t> specials(special_ids.begin(), special_ids.end());
    for (std::size_t id = 0; id < membership.size(); ++id) {
        if (specials.contains(static_cast<std::int64_t>(id))) continue;
        if (membership[id].empty()) background.push_back(static_cast<std::int64_t>(id));
        for (const auto p : membership[id]) {
            if (genes_of.size() <= static_cast<std::size_t>(p)) genes_of.resize(static_cast<std::size_t>(p) + 1);
            genes_of[static_cast<std::size_t>(p)].push_back(static_cast<std::int64_t>(id));
        }
    }
    std::vector<std::int64_t> usable; // programs with >= 2 genes
    for (std::size_t p = 0; p < genes_of.size(); ++p)
        if (genes_of[p].size() >= 2) usable.push_back(static_cast<std::int64_t>(p));
    if (usable.empty()) throw Error("program probe cells: no program has two genes in the vocabulary");

    NamedStream rng(options.seed, "probe-cells");
    auto sample = [&](std::vector<std::int64_t> pool, std::int64_t k) { // k distinct items (partial shuffle)
        k = std::min<std::int64_t>(k, static_cast<std::int64_t>(pool.size()));
        for (std::int64_t i = 0; i < k; ++i)
            std::swap(pool[static_cast<std::size_t>(i)],
                      pool[static_cast<std::size_t>(i + rng.below(static_cast<std::int64_t>(pool.size()) - i))]);
        pool.resize(static_cast<std::size_t>(k));
        return pool;
    };
    std::vector<TokenizedCell> cells;
    for (std::int64_t c = 0; c < options.n_cells; ++c) {
        std::vector<std::int64_t> ids;
        std::unordered_set<std::int64_t> in_cell;
        for (const auto p : sample(usable, options.programs_per_cell))
            for (const auto id : sample(genes_of[static_cast<std::size_t>(p)], options.genes_per_program))
                if (in_cell.insert(id).second) ids.push_back(id);
        for (const auto id : sample(background, options.background_genes))
            if (in_cell.insert(id).second) ids.push_back(id);
        ids = sample(ids, static_cast<std::int64_t>(ids.size())); // random order
        TokenizedCell cell;
        cell.gene_ids = ids;
        for (std::size_t i = 0; i < ids.size(); ++i)
            cell.values.push_back(static_cast<float>(options.value_min +
                                                     (options.value_max - options.value_min) * rng.uniform()));
        cells.push_back(std::move(cell));
    }
    return cells;
}

ProgramAttentionResult measure_program_attention(const ScGptWeights& weights, const std::vector<TokenizedCell>& cells,
                                                 const std::vector<std::vector<std::int32_t>>& membership, int threads) {
    const auto L = weights.config.n_layers, H = weights.config.n_heads;
    const auto n_cells = static_cast<std::int64_t>(cells.size());
    // per cell: which other tokens share a program with each token
    auto shares = [&](const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b) {
        auto i = a.begin();
        auto j = b.begin();
        while (i != a.end() && j != b.end()) {
            if (*i == *j) return true;
            if (*i < *j) ++i;
            else ++j;
        }
        return false;
    };
    auto programs_of = [&](std::int64_t id) -> const std::vector<std::int32_t>& {
        static const std::vector<std::int32_t> none;
        return id >= 0 && id < static_cast<std::int64_t>(membership.size()) ? membership[static_cast<std::size_t>(id)]
                                                                            : none;
    };
    std::vector<std::vector<std::uint8_t>> partner(static_cast<std::size_t>(n_cells)); // [i * len + j]
    ProgramAttentionResult res;
    double chance_sum = 0;
    for (std::int64_t c = 0; c < n_cells; ++c) {
        const auto& ids = cells[static_cast<std::size_t>(c)].gene_ids;
        const auto len = static_cast<std::int64_t>(ids.size());
        auto& m = partner[static_cast<std::size_t>(c)];
        m.assign(static_cast<std::size_t>(len * len), 0);
        for (std::int64_t i = 0; i < len; ++i) {
            std::int64_t k = 0;
            for (std::int64_t j = 0; j < len; ++j)
                if (j != i && shares(programs_of(ids[static_cast<std::size_t>(i)]), programs_of(ids[static_cast<std::size_t>(j)]))) {
                    m[static_cast<std::size_t>(i * len + j)] = 1;
                    ++k;
                }
            if (k > 0) {
                ++res.n_queries;
                chance_sum += static_cast<double>(k) / static_cast<double>(len);
            }
        }
    }
    if (res.n_queries == 0) throw Error("program attention: no token shares a program with another token of its cell");

    // one accumulator per cell (batch size 1), summed in cell order: the same bits for any thread count
    std::vector<double> acc(static_cast<std::size_t>(n_cells * L * H), 0.0);
    AttentionCallback visitor([&](const AttentionSlice& s) {
        const auto& m = partner[static_cast<std::size_t>(s.cell)];
        const auto len = s.length;
        double sum = 0;
        for (std::int64_t i = 0; i < len; ++i) {
            const auto* mi = m.data() + i * len;
            const float* pi = s.probs + i * len;
            for (std::int64_t j = 0; j < len; ++j)
                if (mi[j]) sum += pi[j];
        }
        acc[static_cast<std::size_t>((s.cell * L + s.layer) * H + s.head)] = sum;
    });
    ScGptForwardOptions fo;
    fo.threads = threads;
    fo.batch_size = 1;
    fo.want_mean = false;
    fo.visitor = &visitor;
    run_scgpt_forward(weights, cells, fo);

    res.share = RowMatrixD::Zero(L, H);
    for (std::int64_t c = 0; c < n_cells; ++c)
        for (std::int64_t l = 0; l < L; ++l)
            for (std::int64_t h = 0; h < H; ++h) res.share(l, h) += acc[static_cast<std::size_t>((c * L + l) * H + h)];
    res.share /= static_cast<double>(res.n_queries);
    res.chance = chance_sum / static_cast<double>(res.n_queries);
    return res;
}

} // namespace scx

#include "scextract/api/feature_choice.hpp"

#include "scextract/core/error.hpp"

namespace scx {

FeatureSpec feature_spec(const FeatureChoice& a) {
    FeatureSpec s;
    s.variant = a.variant;
    const auto head = parse_weighted_heads(a.head);
    if (head.size() != 1) throw UsageError("--head takes one layer:head");
    s.layer = head[0].layer;
    s.head = head[0].head;
    if (a.variant == "topk") {
        if (a.heads.empty()) throw UsageError("--features topk needs --heads layer:head:weight,...");
        s.heads = parse_weighted_heads(a.heads);
    }
    s.rank = a.rank;
    s.n_factors = a.factors;
    s.top_genes = a.top_genes;
    s.orientation = parse_orientation(a.orientation);
    return s;
}

} // namespace scx

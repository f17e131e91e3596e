#pragma once
/// @file feature_choice.hpp
/// @brief The feature operator by the names a user types (`--features rank --rank 64
/// --head 2:5`, or the same keywords in Python), turned into extract/'s FeatureSpec.

#include "scextract/extract/compress.hpp"

#include <cstdint>
#include <string>

namespace scx {

/// Which features of an operator file, by name. Defaults: the pooled drift operator.
struct FeatureChoice {
    std::string variant = "drift";  ///< drift, head, topk, rank or sparse
    std::string head = "2:5";       ///< layer:head (0-based) for head, rank and sparse
    std::string heads;              ///< topk: layer:head:weight,...
    std::string orientation = "xA"; ///< xA or xAT
    std::int64_t rank = 64, factors = 16, top_genes = 60;
};

/// The FeatureSpec @p choice names (UsageError for malformed heads).
FeatureSpec feature_spec(const FeatureChoice& choice);

} // namespace scx

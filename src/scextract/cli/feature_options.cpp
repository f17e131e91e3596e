#include "scextract/cli/feature_options.hpp"


namespace scx::cli {

void add_feature_options(CLI::App* app, FeatureArgs& a) {
    app->add_option("--features", a.variant,
                    "feature operator: drift (pooled early/mid/late heads), head (one head), topk (weighted heads), "
                    "rank (rank-r SVD of one head), sparse (hard-sparse factors of one head)")
        ->check(CLI::IsMember({"drift", "head", "topk", "rank", "sparse"}))
        ->capture_default_str();
    app->add_option("--head", a.head, "layer:head (0-based) for head, rank and sparse")->capture_default_str();
    app->add_option("--heads", a.heads, "topk: layer:head:weight,... (e.g. from scan-heads)");
    app->add_option("--rank", a.rank, "rank: the SVD rank (8, 16, 32, 64, ...)")->check(CLI::PositiveNumber)->capture_default_str();
    app->add_option("--factors", a.factors, "sparse: number of factors")->check(CLI::PositiveNumber)->capture_default_str();
    app->add_option("--top-genes", a.top_genes, "sparse: read and write genes kept per factor")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_option("--orientation", a.orientation, "features x A or x A^T (METHOD.md leaves it open)")
        ->check(CLI::IsMember({"xA", "xAT"}))
        ->capture_default_str();
}

} // namespace scx::cli

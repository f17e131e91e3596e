#include "scextract/interpret/interpretation.hpp"

#include "scextract/io/json_number.hpp"

#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx {

namespace {

std::string num(double v) { return std::isnan(v) ? "NA" : fmt::format("{:.6g}", v); }

std::string endpoint_header(const FactorAblationResult& a) {
    std::string h;
    for (const auto& e : a.endpoints) h += "\t" + e.name;
    return h;
}

std::string values(const std::vector<double>& v) {
    std::string s;
    for (const double x : v) s += "\t" + num(x);
    return s;
}

std::string factor_list(const std::vector<std::int64_t>& f) {
    std::vector<std::string> names;
    for (const auto x : f) names.push_back(OperatorFactors::name(x));
    return fmt::format("{}", fmt::join(names, ","));
}

nlohmann::ordered_json numbers(const std::vector<double>& v) {
    auto j = nlohmann::ordered_json::array();
    for (const double x : v) j.push_back(json_number_or_null(x));
    return j;
}

} // namespace

std::vector<const EnrichmentTest*> listed_enrichment(const FactorEnrichmentResult& e, std::int64_t factor,
                                                     const std::string& side, double fdr, std::size_t min_rows) {
    std::vector<const EnrichmentTest*> out;
    for (const auto& t : e.tests) // sorted by factor, side, p
        if (t.factor == factor && t.side == side && (t.q < fdr || out.size() < min_rows)) out.push_back(&t);
    return out;
}

std::string interpretation_factors_tsv(const Interpretation& i) {
    std::string s = "factor\tscale\tside\trank\tgene\tloading\n";
    for (std::int64_t f = 0; f < i.factors.size(); ++f)
        for (const char* side : {"read", "write"}) {
            const Eigen::VectorXd v = std::string_view(side) == "read" ? i.factors.read.col(f) : i.factors.write.col(f);
            std::int64_t rank = 0;
            for (const auto& l : top_loadings(v, i.factors.genes, i.top_genes))
                s += fmt::format("{}\t{}\t{}\t{}\t{}\t{}\n", OperatorFactors::name(f), num(i.factors.scale(f)), side, ++rank,
                                 l.gene, num(l.loading));
        }
    return s;
}

std::string interpretation_ablation_tsv(const Interpretation& i) {
    const auto& a = i.ablation;
    std::string s = "zeroed\tscale" + endpoint_header(a) + "\timpact\tshare\timpact_rank\n";
    s += "none\tNA" + values(a.intact) + "\t0\tNA\tNA\n";
    std::vector<std::int64_t> rank(a.single.size());
    for (std::size_t k = 0; k < a.by_impact.size(); ++k) rank[static_cast<std::size_t>(a.by_impact[k])] = static_cast<std::int64_t>(k) + 1;
    for (std::size_t f = 0; f < a.single.size(); ++f)
        s += fmt::format("{}\t{}{}\t{}\t{}\t{}\n", OperatorFactors::name(static_cast<std::int64_t>(f)),
                         num(i.factors.scale(static_cast<Eigen::Index>(f))), values(a.single[f].value), num(a.single[f].impact),
                         num(a.share[f]), rank[f]);
    return s;
}

std::string interpretation_subsets_tsv(const Interpretation& i) {
    const auto& a = i.ablation;
    std::string s = "kept\tn_kept" + endpoint_header(a) + "\timpact\n";
    s += fmt::format("all\t{}{}\t0\n", i.factors.size(), values(a.intact));
    for (const auto& c : a.subsets)
        s += fmt::format("{}\t{}{}\t{}\n", factor_list(c.kept), c.kept.size(), values(c.scores.value), num(c.scores.impact));
    return s;
}

std::string interpretation_enrichment_tsv(const Interpretation& i) {
    std::string s = "factor\tside\tgene_set\tsource\tset_genes_in_panel\toverlap\tfold\tp\tq\tgenes\n";
    if (!i.enrichment) return s;
    for (std::int64_t f = 0; f < i.factors.size(); ++f)
        for (const char* side : {"read", "write"})
            for (const auto* t : listed_enrichment(*i.enrichment, f, side, i.enrichment_fdr))
                s += fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n", OperatorFactors::name(f), side, t->set, t->source,
                                 t->set_in_panel, t->overlap, num(t->fold), num(t->p), num(t->q), fmt::join(t->genes, ","));
    return s;
}

std::string interpretation_programs_tsv(const Interpretation& i) {
    std::string s = "program\tgenes_in_panel\tbest_jaccard\tfactor\tside\toverlap\tnull_mean\tnull_q95\tp\tq\trecovered\n";
    if (!i.programs) return s;
    for (const auto& m : i.programs->programs)
        s += fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n", m.program, m.genes_in_panel, num(m.jaccard),
                         m.factor >= 0 ? OperatorFactors::name(m.factor) : "NA", m.side.empty() ? "NA" : m.side, m.overlap,
                         num(m.null_mean), num(m.null_q95), num(m.p), num(m.q), m.recovered ? "yes" : "no");
    return s;
}

nlohmann::ordered_json interpretation_json(const Interpretation& i) {
    nlohmann::ordered_json j;
    j["format"] = "scextract-interpret";
    j["version"] = 1;
    j["software"] = i.software;
    j["algorithm"] = i.algorithm;
    j["data"] = i.data;
    j["features"] = i.features;
    j["block"] = i.factors.block_name;
    j["form"] = i.factors.form;
    j["factors_exact"] = i.factors.exact;
    j["n_factors"] = i.factors.size();
    j["panel_genes"] = i.factors.genes.size();
    j["top_genes"] = i.top_genes;
    const auto& a = i.ablation;
    auto& ab = j["ablation"];
    ab["cells"] = a.n_cells;
    ab["donors"] = a.n_donors;
    for (const auto& e : a.endpoints) ab["endpoints"].push_back(e.name);
    ab["intact"] = numbers(a.intact);
    for (const auto& [n, share] : a.top_share) ab["top_share"][fmt::format("top{}", n)] = json_number_or_null(share);
    for (const auto f : a.by_impact)
        ab["by_impact"].push_back({{"factor", OperatorFactors::name(f)},
                                   {"impact", json_number_or_null(a.single[static_cast<std::size_t>(f)].impact)},
                                   {"share", json_number_or_null(a.share[static_cast<std::size_t>(f)])}});
    for (const auto f : a.core) ab["core"].push_back(OperatorFactors::name(f));
    if (!a.subsets.empty()) ab["core_only"] = numbers(a.subsets.back().scores.value);
    for (const auto& c : a.subsets)
        ab["subsets"].push_back({{"kept", factor_list(c.kept)}, {"values", numbers(c.scores.value)},
                                 {"impact", json_number_or_null(c.scores.impact)}});
    for (std::int64_t f = 0; f < i.factors.size(); ++f) {
        nlohmann::ordered_json fj;
        fj["factor"] = OperatorFactors::name(f);
        fj["scale"] = i.factors.scale(f);
        for (const char* side : {"read", "write"}) {
            const Eigen::VectorXd v = std::string_view(side) == "read" ? i.factors.read.col(f) : i.factors.write.col(f);
            auto& genes = fj[std::string(side) + "_genes"];
            genes = nlohmann::ordered_json::array();
            for (const auto& l : top_loadings(v, i.factors.genes, i.top_genes)) genes.push_back({l.gene, l.loading});
        }
        j["factors"].push_back(std::move(fj));
    }
    if (i.enrichment) {
        auto& e = j["enrichment"];
        e["gene_set_files"] = i.gene_set_files;
        e["sets_given"] = i.enrichment->sets_given;
        e["sets_tested"] = i.enrichment->sets_tested;
        e["sets_without_panel_genes"] = i.enrichment->sets_without_panel_genes;
        e["fdr"] = i.enrichment_fdr;
        std::int64_t significant = 0;
        for (const auto& t : i.enrichment->tests) significant += t.q < i.enrichment_fdr;
        e["significant_tests"] = significant;
    }
    if (i.programs) {
        auto& p = j["programs"];
        p["source"] = i.programs_source;
        p["tested"] = i.programs->programs.size();
        p["skipped"] = i.programs->skipped;
        p["recovered"] = i.programs->n_recovered;
        p["fraction_recovered"] = i.programs->fraction_recovered;
        p["median_best_jaccard"] = i.programs->median_jaccard;
    }
    return j;
}

} // namespace scx

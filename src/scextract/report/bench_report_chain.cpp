#include "scextract/report/bench_report_chain.hpp"

#include "scextract/io/tsv_number.hpp"

#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx::report {

namespace {

/// q of a tested comparison, or nothing (no comparison, or "none": no pairs to test).
std::optional<double> tested_q(const Comparison* c) {
    if (c == nullptr || c->test == "none" || !c->q || !std::isfinite(*c->q)) return std::nullopt;
    return c->q;
}

ChainLosses losses(const Results& r, const Method& m, ComparisonUnit unit) {
    ChainLosses out;
    for (const auto& e : r.endpoints) {
        if (is_pseudotime_endpoint(e.name)) continue;
        const auto* c = r.find_comparison(m.name, e.name, unit);
        const auto q = tested_q(c);
        if (!q) continue;
        out.tested.push_back(e.name);
        if (!(*q < r.fdr)) continue;
        const auto dir = comparison_direction(*c, e);
        if (dir == "worse") out.lost.push_back(e.name);
        else if (dir == "better") out.gained.push_back(e.name);
    }
    return out;
}

} // namespace

std::vector<ChainRow> compression_chain_rows(const Results& r) {
    std::vector<ChainRow> rows;
    for (const auto& m : r.methods) {
        ChainRow row;
        row.method = &m;
        row.is_reference = m.name == r.reference;
        if (!row.is_reference) {
            row.splits = losses(r, m, ComparisonUnit::splits);
            row.donors = losses(r, m, ComparisonUnit::donors);
        }
        for (const auto& e : r.endpoints) {
            if (!is_pseudotime_endpoint(e.name)) continue;
            if (const auto s = summarise_scores(r.split_scores(m.name, e.name)); s.present > 0) row.depth_mean = s.mean;
            if (!row.is_reference) {
                row.depth_q_splits = tested_q(r.find_comparison(m.name, e.name, ComparisonUnit::splits));
                row.depth_q_donors = tested_q(r.find_comparison(m.name, e.name, ComparisonUnit::donors));
            }
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

std::string compression_chain_tsv(const Results& r) {
    std::string out = "method\tis_reference\tstored_values\tsize_mb";
    for (const auto* unit : {"splits", "donors"})
        out += fmt::format("\tendpoints_{0}\tlosses_{0}\tlost_{0}\tgains_{0}", unit);
    out += "\tdepth_spearman_mean\tdepth_q_splits\tdepth_q_donors\n";
    for (const auto& row : compression_chain_rows(r)) {
        const auto& size = row.method->operator_size;
        out += fmt::format("{}\t{}\t{}\t{}", row.method->name, row.is_reference ? "yes" : "no",
                           size ? std::to_string(size->stored_values) : std::string("NA"),
                           size ? tsv_number(size->mb) : std::string("NA"));
        for (const auto* l : {&row.splits, &row.donors}) {
            if (row.is_reference) out += "\tNA\tNA\t\tNA";
            else out += fmt::format("\t{}\t{}\t{}\t{}", l->tested.size(), l->lost.size(), fmt::join(l->lost, ","), l->gained.size());
        }
        out += fmt::format("\t{}\t{}\t{}\n", tsv_number(row.depth_mean), tsv_number(row.depth_q_splits),
                           tsv_number(row.depth_q_donors));
    }
    return out;
}

} // namespace scx::report

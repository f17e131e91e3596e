#include "scextract/simulate/calibration_json.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/json_parse.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace scx {

namespace {

using Json = nlohmann::ordered_json;

template <class T>
T get(const Json& j, const char* key, const std::string& path) {
    if (!j.contains(key)) throw Error(fmt::format("{}: calibration file lacks '{}'", path, key));
    try {
        return j.at(key).get<T>();
    } catch (const nlohmann::json::exception&) {
        throw Error(fmt::format("{}: calibration key '{}' has the wrong type", path, key));
    }
}

} // namespace

void write_calibration_json(const Calibration& c, const std::string& path) {
    Json j;
    j["format"] = kCalibrationFormat;
    j["version"] = kCalibrationFormatVersion;
    j["source"] = c.source;
    j["source_sha256"] = c.source_sha256;
    j["label_key"] = c.label_key;
    j["donor_key"] = c.donor_key;
    j["n_cells"] = c.n_cells;
    j["genes"] = c.genes;
    j["theta"] = c.theta;
    j["log_library_quantiles"] = c.log_library_quantiles;
    Json donors;
    donors["estimated"] = c.donor_effects_estimated;
    donors["n_donors"] = c.n_donors;
    donors["gene_sd"] = c.donor_gene_sd;
    donors["library_sdlog"] = c.donor_library_sdlog;
    donors["composition_sd"] = c.donor_composition_sd;
    j["donor_effects"] = donors;
    j["unmapped_labels"] = c.unmapped_labels;
    Json zeros = Json::array();
    for (const auto& b : c.zero_fraction)
        zeros.push_back({{"log10_mean", b.log10_mean},
                         {"n_genes", b.n_genes},
                         {"observed", b.observed},
                         {"negative_binomial", b.negative_binomial}});
    j["zero_fraction"] = zeros;
    Json stages = Json::array();
    for (const auto& s : c.stages)
        stages.push_back({{"stage", s.stage}, {"labels", s.labels}, {"n_cells", s.n_cells}, {"log_profile", s.log_profile}});
    j["profile_prior"] = {{"shapes", c.profile_prior_shapes}, {"weights", c.profile_prior_weights}};
    j["stages"] = stages;
    j["within_type_sd"] = c.within_type_sd;
    j["within_type_loadings"] = c.within_type_loadings;
    write_text_atomically(path, j.dump(1) + "\n");
}

Calibration read_calibration_json(const std::string& path) {
    const auto j = parse_json_bounded<Json>(read_json_file_text(path, std::uint64_t{1} << 30, "calibration file"), path);
    if (!j.is_object() || j.value("format", std::string()) != kCalibrationFormat)
        throw Error(fmt::format("{}: not a calibration file (format must be '{}')", path, kCalibrationFormat));
    if (get<int>(j, "version", path) > kCalibrationFormatVersion)
        throw Error(fmt::format("{}: calibration version {} is newer than this build reads ({})", path,
                                j["version"].get<int>(), kCalibrationFormatVersion));
    Calibration c;
    c.source = get<std::string>(j, "source", path);
    c.source_sha256 = get<std::string>(j, "source_sha256", path);
    c.label_key = get<std::string>(j, "label_key", path);
    c.donor_key = get<std::string>(j, "donor_key", path);
    c.n_cells = get<std::int64_t>(j, "n_cells", path);
    c.genes = get<std::vector<std::string>>(j, "genes", path);
    c.theta = get<std::vector<double>>(j, "theta", path);
    c.log_library_quantiles = get<std::vector<double>>(j, "log_library_quantiles", path);
    const auto donors = get<Json>(j, "donor_effects", path);
    c.donor_effects_estimated = get<bool>(donors, "estimated", path);
    c.n_donors = get<std::int64_t>(donors, "n_donors", path);
    c.donor_gene_sd = get<double>(donors, "gene_sd", path);
    c.donor_library_sdlog = get<double>(donors, "library_sdlog", path);
    c.donor_composition_sd = get<double>(donors, "composition_sd", path);
    c.unmapped_labels = get<std::vector<std::string>>(j, "unmapped_labels", path);
    for (const auto& b : get<Json>(j, "zero_fraction", path))
        c.zero_fraction.push_back({get<double>(b, "log10_mean", path), get<std::int64_t>(b, "n_genes", path),
                                   get<double>(b, "observed", path), get<double>(b, "negative_binomial", path)});
    for (const auto& s : get<Json>(j, "stages", path)) {
        CalibratedStage st;
        st.stage = get<std::string>(s, "stage", path);
        st.labels = get<std::vector<std::string>>(s, "labels", path);
        st.n_cells = get<std::int64_t>(s, "n_cells", path);
        st.log_profile = get<std::vector<double>>(s, "log_profile", path);
        if (st.log_profile.size() != c.genes.size())
            throw Error(fmt::format("{}: stage '{}' has {} profile values for {} genes", path, st.stage,
                                    st.log_profile.size(), c.genes.size()));
        c.stages.push_back(std::move(st));
    }
    const auto prior = get<Json>(j, "profile_prior", path);
    c.profile_prior_shapes = get<std::vector<double>>(prior, "shapes", path);
    c.profile_prior_weights = get<std::vector<double>>(prior, "weights", path);
    if (j.contains("within_type_sd")) {
        c.within_type_sd = get<std::vector<double>>(j, "within_type_sd", path);
        c.within_type_loadings = get<std::vector<std::vector<double>>>(j, "within_type_loadings", path);
        if (c.within_type_loadings.size() != c.within_type_sd.size())
            throw Error(fmt::format("{}: {} within-type loadings for {} sds", path, c.within_type_loadings.size(),
                                    c.within_type_sd.size()));
        for (const auto& v : c.within_type_loadings)
            if (v.size() != c.genes.size())
                throw Error(fmt::format("{}: a within-type loading has {} values for {} genes", path, v.size(),
                                        c.genes.size()));
    }
    if (c.theta.size() != c.genes.size())
        throw Error(fmt::format("{}: {} dispersions for {} genes", path, c.theta.size(), c.genes.size()));
    for (const double t : c.theta)
        if (!(t > 0) || !std::isfinite(t)) throw Error(fmt::format("{}: dispersions must be finite and > 0", path));
    if (c.log_library_quantiles.size() < 2 ||
        !std::is_sorted(c.log_library_quantiles.begin(), c.log_library_quantiles.end()))
        throw Error(fmt::format("{}: log_library_quantiles must be at least two ascending values", path));
    if (c.stages.empty()) throw Error(fmt::format("{}: calibration has no stage profiles", path));
    return c;
}

} // namespace scx

#include "scextract/io/scx_summary.hpp"

#include "scextract/io/scx_container.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace scx {

namespace {

using Json = nlohmann::ordered_json;

/// The first genes of a panel, so the summary stays short.
Json head_of(const Json& genes, std::size_t n = 8) {
    Json out = Json::array();
    for (std::size_t i = 0; i < std::min(n, genes.size()); ++i) out.push_back(genes[i]);
    return out;
}

/// Provenance may be stored as JSON text; shown as an object when it parses.
Json as_object(const Json& v) {
    if (!v.is_string()) return v;
    try {
        return Json::parse(v.get<std::string>());
    } catch (const nlohmann::json::exception&) {
        return v;
    }
}

/// Elements of an array of @p shape.
std::int64_t elements(const std::vector<std::int64_t>& shape) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
}

/// Per block of an algorithm's feature operator: form, shape or rank, and parameters.
Json block_sizes(const Json& blocks, const ScxContainer& c) {
    Json out = Json::array();
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        const auto prefix = fmt::format("block{}.", i);
        Json b{{"name", blocks[i].value("name", "")}, {"form", blocks[i].value("form", "")}};
        std::int64_t parameters = 0;
        for (const auto& a : c.arrays()) {
            if (a.name.rfind(prefix, 0) != 0) continue;
            const auto part = a.name.substr(prefix.size());
            if (part == "layout") b["factors"] = a.shape.empty() ? 0 : a.shape[0];
            if (part == "dense") b["shape"] = a.shape;
            if (part == "left" && a.shape.size() == 2) b["rank"] = a.shape[1];
            if (part != "layout") parameters += elements(a.shape);
        }
        b["parameters"] = parameters;
        out.push_back(b);
    }
    return out;
}

/// Parameters by part of an algorithm file, from its array shapes.
Json parameter_counts(const ScxContainer& c) {
    std::int64_t features = 0, standardiser = 0, adaptor = 0, readouts = 0;
    for (const auto& a : c.arrays()) {
        const auto n = elements(a.shape);
        if (a.name.rfind("block", 0) == 0) features += a.name.ends_with(".layout") ? 0 : n;
        else if (a.name == "feature_mean" || a.name == "feature_sd") standardiser += n;
        else if (a.name.rfind("adaptor_", 0) == 0) adaptor += n;
        else if (a.name.rfind("readout", 0) == 0) readouts += n;
    }
    return {{"feature_operator", features}, {"standardiser", standardiser}, {"adaptor", adaptor}, {"readouts", readouts},
            {"total", features + standardiser + adaptor + readouts}};
}

} // namespace

bool is_scx_file(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) return false;
    std::ifstream f(path, std::ios::binary);
    char magic[sizeof kScxMagic] = {};
    f.read(magic, sizeof magic);
    return f.gcount() == static_cast<std::streamsize>(sizeof magic) && std::memcmp(magic, kScxMagic, sizeof magic) == 0;
}

Json summarize_scx_file(const std::string& path) {
    const ScxContainer c(path);
    const auto& meta = c.metadata();
    Json j;
    j["file"] = path;
    j["kind"] = c.kind();
    j["bytes"] = c.file_size();
    j["checksums"] = "ok";
    if (c.kind() == "operator") {
        j["layers"] = meta.value("n_layers", Json());
        j["heads"] = meta.value("n_heads", Json());
        j["panel_genes"] = meta.value("n_genes", Json());
        j["orientation"] = meta.value("orientation", Json());
        j["first_genes"] = head_of(meta.value("genes", Json::array()));
        j["format_version"] = meta.value("format_version", Json());
        const auto g = meta.value("n_genes", Json(0));
        if (meta.value("n_layers", Json()).is_number() && meta.value("n_heads", Json()).is_number() && g.is_number())
            j["parameters"] = meta["n_layers"].get<std::int64_t>() * meta["n_heads"].get<std::int64_t>() *
                              g.get<std::int64_t>() * g.get<std::int64_t>();
        j["provenance"] = as_object(meta.value("provenance", Json()));
    } else if (c.kind() == "algorithm") {
        const auto panel = meta.value("panel", Json::array());
        j["panel_genes"] = panel.size();
        j["first_genes"] = head_of(panel);
        j["features"] = meta.value("feature_description", Json());
        j["orientation"] = meta.value("orientation", Json());
        j["latent_dim"] = meta.value("latent_dim", Json());
        j["target_sum"] = meta.value("target_sum", Json());
        j["algorithm_version"] = meta.value("algorithm_version", Json());
        j["blocks"] = block_sizes(meta.value("blocks", Json::array()), c);
        j["features_count"] = [&] {
            for (const auto& a : c.arrays())
                if (a.name == "feature_mean") return Json(elements(a.shape));
            return Json();
        }();
        j["parameters"] = parameter_counts(c);
        // written by fit since issue 19; older files have none and apply reports OOD as unavailable
        j["ood"] = meta.value("ood", Json());
        Json readouts = Json::array();
        for (const auto& r : meta.value("readouts", Json::array()))
            readouts.push_back({{"task", r.value("task", "")},
                                {"kind", r.value("kind", "")},
                                {"classes", r.value("classes", Json::array()).size()},
                                {"parameters", r.value("parameters", Json())}});
        j["readouts"] = readouts;
        const auto ruler = as_object(meta.value("ruler", Json()));
        j["ruler"] = ruler.is_object() ? ruler.value("name", Json()) : Json();
        j["provenance"] = as_object(meta.value("provenance", Json()));
        const Json p = j["provenance"]; // a copy: adding keys to j moves its values
        j["variant"] = p.is_object() ? p.value("variant", Json()) : Json();
        j["training"] = p.is_object() ? p.value("training", Json()) : Json();
    }
    Json arrays = Json::array();
    for (const auto& a : c.arrays())
        arrays.push_back({{"name", a.name}, {"dtype", container_dtype_str(a.dtype)}, {"shape", a.shape}});
    j["arrays"] = arrays;
    return j;
}

std::string format_scx_summary(const Json& s) {
    const auto str = [](const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
    std::string out = fmt::format("{}: scextract {} file, {:.2f} MB, checksums {}\n", str(s["file"]), str(s["kind"]),
                                  s["bytes"].get<double>() / 1e6, str(s["checksums"]));
    if (s.contains("panel_genes"))
        out += fmt::format("  panel: {} genes ({}, ...), orientation {}\n", str(s["panel_genes"]),
                           fmt::join(s["first_genes"].get<std::vector<std::string>>(), ", "), str(s["orientation"]));
    if (s["kind"] == "operator")
        out += fmt::format("  operators: {} layers x {} heads of {} x {} ({} parameters), format version {}\n", str(s["layers"]),
                           str(s["heads"]), str(s["panel_genes"]), str(s["panel_genes"]), str(s.value("parameters", Json())),
                           str(s.value("format_version", Json())));
    if (s["kind"] == "algorithm") {
        out += fmt::format("  variant: {} adaptor, algorithm version {}\n", str(s["variant"]), str(s["algorithm_version"]));
        out += fmt::format("  features: {} ({} features)\n", str(s["features"]), str(s["features_count"]));
        for (const auto& b : s["blocks"]) {
            std::string size = b.contains("rank")      ? fmt::format("rank {}", str(b["rank"]))
                               : b.contains("shape")   ? fmt::format("{}", b["shape"].dump())
                               : b.contains("factors") ? fmt::format("{} factors", str(b["factors"]))
                                                       : std::string();
            out += fmt::format("    block {:<24} {:<14} {:<12} {} parameters\n", str(b["name"]), str(b["form"]), size,
                               str(b["parameters"]));
        }
        const auto& p = s["parameters"];
        out += fmt::format("  parameters: {} (feature operator {}, standardiser {}, adaptor {}, readouts {})\n", str(p["total"]),
                           str(p["feature_operator"]), str(p["standardiser"]), str(p["adaptor"]), str(p["readouts"]));
        out += fmt::format("  latent: k = {}, target sum {}, ruler '{}'\n", str(s["latent_dim"]), str(s["target_sum"]),
                           str(s["ruler"]));
        for (const auto& r : s["readouts"])
            out += fmt::format("  readout {:<11} {:<10} {:>3} classes {:>6} parameters\n", str(r["task"]), str(r["kind"]),
                               str(r["classes"]), str(r["parameters"]));
        if (const auto& t = s["training"]; t.is_object()) {
            std::vector<std::string> labels;
            const Json per_label = t.value("labels", Json::object()); // named: items() refers into it
            for (const auto& [k, v] : per_label.items()) {
                if (labels.size() == 8) {
                    labels.push_back("...");
                    break;
                }
                labels.push_back(fmt::format("{} ({})", k, str(v)));
            }
            out += fmt::format("  training: {} cells ({} on the ruler), {} donors, {} labels: {}\n", str(t.value("cells", Json())),
                               str(t.value("cells_on_ruler", Json())), str(t.value("donors", Json())),
                               per_label.size(), fmt::join(labels, ", "));
        }
        if (const auto& o = s["ood"]; o.is_object())
            out += fmt::format("  out-of-distribution bounds: reconstruction error > {:.4g} (training p99; mean {:.4g}) or detected "
                               "panel-gene fraction < {:.4g} (training p1), over {} training cells\n",
                               o.value("reconstruction_error_p99", 0.0), o.value("reconstruction_error_mean", 0.0),
                               o.value("detected_fraction_p1", 0.0), str(o.value("training_cells", Json())));
        else
            out += "  out-of-distribution bounds: none (written before they existed; apply reports OOD as unavailable - refit)\n";
    }
    if (s.contains("provenance") && s["provenance"].is_object()) {
        out += "  provenance:\n";
        for (const auto& [k, v] : s["provenance"].items()) {
            if (k == "training") continue; // shown above
            if (!v.is_object() && !v.is_array()) out += fmt::format("    {}: {}\n", k, str(v));
            else if (v.is_object() && std::none_of(v.begin(), v.end(), [](const Json& e) { return e.is_object(); })) {
                // e.g. the checkpoint: path and sha256 on one line
                std::vector<std::string> parts;
                for (const auto& [k2, v2] : v.items())
                    if (!v2.is_array()) parts.push_back(fmt::format("{} {}", k2, str(v2)));
                out += fmt::format("    {}: {}\n", k, fmt::join(parts, ", "));
            } else if (v.is_object()) // one level down: the operator's checkpoint, reference and panel
                for (const auto& [k2, v2] : v.items()) {
                    if (v2.is_object()) {
                        std::vector<std::string> parts;
                        for (const auto& [k3, v3] : v2.items())
                            if (!v3.is_object() && !v3.is_array()) parts.push_back(fmt::format("{} {}", k3, str(v3)));
                        out += fmt::format("    {}.{}: {}\n", k, k2, fmt::join(parts, ", "));
                    } else if (!v2.is_array()) {
                        out += fmt::format("    {}.{}: {}\n", k, k2, str(v2));
                    }
                }
        }
    }
    for (const auto& a : s["arrays"])
        out += fmt::format("  array {:<16} {} {}\n", str(a["name"]), str(a["dtype"]), a["shape"].dump());
    return out;
}

} // namespace scx

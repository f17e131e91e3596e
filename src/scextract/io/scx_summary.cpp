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
        j["provenance"] = as_object(meta.value("provenance", Json()));
    } else if (c.kind() == "algorithm") {
        const auto panel = meta.value("panel", Json::array());
        j["panel_genes"] = panel.size();
        j["first_genes"] = head_of(panel);
        j["features"] = meta.value("feature_description", Json());
        j["orientation"] = meta.value("orientation", Json());
        j["latent_dim"] = meta.value("latent_dim", Json());
        j["target_sum"] = meta.value("target_sum", Json());
        j["blocks"] = meta.value("blocks", Json::array());
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
    if (s["kind"] == "operator") out += fmt::format("  operators: {} layers x {} heads\n", str(s["layers"]), str(s["heads"]));
    if (s["kind"] == "algorithm") {
        out += fmt::format("  features: {}\n  latent: k = {}, target sum {}, ruler '{}'\n", str(s["features"]),
                           str(s["latent_dim"]), str(s["target_sum"]), str(s["ruler"]));
        for (const auto& r : s["readouts"])
            out += fmt::format("  readout {:<11} {:<10} {:>3} classes {:>6} parameters\n", str(r["task"]), str(r["kind"]),
                               str(r["classes"]), str(r["parameters"]));
    }
    if (s.contains("provenance") && s["provenance"].is_object())
        for (const auto& [k, v] : s["provenance"].items())
            if (!v.is_object() && !v.is_array()) out += fmt::format("  {}: {}\n", k, str(v));
    for (const auto& a : s["arrays"])
        out += fmt::format("  array {:<16} {} {}\n", str(a["name"]), str(a["dtype"]), a["shape"].dump());
    return out;
}

} // namespace scx

#include "scextract/io/gene_programs.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/h5ad_reader.hpp"
#include "scextract/io/json_parse.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <variant>

#include <fmt/format.h>

namespace scx {

namespace {

std::string lower_extension(const std::string& path) {
    auto ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext;
}

std::vector<GeneProgram> from_json(const std::string& path) {
    const auto j = parse_json_bounded<nlohmann::ordered_json>(
        read_json_file_text(path, std::uint64_t{1} << 30, "gene program file"), path);
    if (!j.is_object()) throw Error(fmt::format("{}: expected a JSON object {{program: [genes]}}", path));
    std::vector<GeneProgram> out;
    for (const auto& [name, genes] : j.items()) {
        if (!genes.is_array())
            throw Error(fmt::format("{}: program '{}' is a {}, not a list of gene symbols", path, name, genes.type_name()));
        GeneProgram p;
        p.name = name;
        for (const auto& g : genes) {
            if (!g.is_string())
                throw Error(fmt::format("{}: program '{}' holds a {}, not a gene symbol", path, name, g.type_name()));
            p.genes.push_back(g.get<std::string>());
        }
        out.push_back(std::move(p));
    }
    return out;
}

std::vector<GeneProgram> from_h5ad(const std::string& path) {
    H5adReadOptions opt;
    opt.read_X = false;
    opt.read_layers = false;
    opt.read_raw_X = false;
    opt.read_obsp = false;
    const auto ad = read_h5ad(path, opt);
    const auto* sim = ad.uns.find("scx_sim");
    const auto* sim_map = sim ? std::get_if<Mapping>(&sim->value) : nullptr;
    if (!sim_map)
        throw Error(fmt::format("{}: no uns['scx_sim'] mapping (is this a file written by `scextract simulate`?)", path));
    const auto* programs = sim_map->find("programs");
    const auto* programs_map = programs ? std::get_if<Mapping>(&programs->value) : nullptr;
    if (!programs_map) throw Error(fmt::format("{}: no uns['scx_sim']['programs'] mapping of gene programs", path));
    std::vector<GeneProgram> out;
    for (const auto& [name, element] : programs_map->items) {
        const auto* genes = std::get_if<StringArray>(&element.value);
        if (!genes)
            throw Error(fmt::format("{}: uns['scx_sim']['programs']['{}'] is not an array of gene symbols", path, name));
        out.push_back({name, genes->values});
    }
    return out;
}

} // namespace

std::vector<GeneProgram> read_gene_programs(const std::string& path) {
    const auto ext = lower_extension(path);
    auto programs = ext == ".json" ? from_json(path) : from_h5ad(path);
    if (std::none_of(programs.begin(), programs.end(), [](const auto& p) { return !p.genes.empty(); }))
        throw Error(fmt::format("{}: no gene program holds a gene", path));
    return programs;
}

} // namespace scx

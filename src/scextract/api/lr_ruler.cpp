/// @file lr_ruler.cpp
/// @brief build_lr_ruler_file(): cells and resource in, ruler file out.

#include "scextract/lr_ruler.hpp"

#include "scextract/api/input_cells.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/dataset.hpp"
#include "scextract/io/ruler_json.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx {

LrRulerResult build_lr_ruler_file(const BuildLrRulerOptions& o, const MessageSink& messages) {
    refuse_overwriting_input(o.data, o.out);
    refuse_overwriting_input(o.resource, o.out);
    // the resource first: a malformed file is refused before the cells are read
    const auto resource = read_lr_resource(o.resource);
    const auto dataset = read_dataset(o.data, {.layer = o.layer, .use_raw = o.raw});
    const auto symbols = dataset_gene_symbols(dataset, o.data, o.gene_column, messages);
    const auto labels = obs_strings(dataset, o.label_key, o.data, "--label-key");
    const auto detection = detection_by_cell_type(dataset.matrix, symbols, labels);
    auto built = build_lr_ruler(resource, detection, o.ruler);
    messages.note(fmt::format("{}: {} pairs ({} duplicates dropped); {} have all genes in {}, {} link two of its {} cell types",
                              o.resource, resource.pairs.size(), resource.duplicates, built.pairs_in_data, o.data, built.pairs_linking,
                              built.ruler.stages.size()));
    if (!built.dropped_types.empty())
        messages.warning(fmt::format("cell types with fewer than {} cells are left out of the ruler: {}", o.ruler.min_cells,
                                     fmt::join(built.dropped_types, ", ")));
    write_ruler_json(built.ruler, o.out);
    return built;
}

} // namespace scx

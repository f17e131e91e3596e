#include "scextract/inspect.hpp"

#include "scextract/io/input_summary.hpp"
#include "scextract/io/scx_summary.hpp"
#include "scextract/model/scgpt_checkpoint.hpp"

namespace scx {

InspectResult inspect_path(const std::string& path) {
    InspectResult r;
    if (is_scx_file(path)) {
        r.kind = "scx";
        r.summary = summarize_scx_file(path);
        r.text = format_scx_summary(r.summary);
    } else if (is_checkpoint_path(path)) {
        r.kind = "checkpoint";
        r.summary = summarize_checkpoint(path);
        r.text = format_checkpoint_summary(r.summary);
    } else {
        r.kind = "input";
        r.summary = summarize_input(path);
        r.text = format_input_summary(r.summary);
    }
    return r;
}

} // namespace scx

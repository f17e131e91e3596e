#include "scextract/io/h5ad_annotation_writer.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/h5ad_body.hpp"
#include "scextract/io/h5ad_reader.hpp"
#include "scextract/io/hdf5.hpp"

#include <algorithm>
#include <future>
#include <optional>

#include <fmt/format.h>

namespace scx {

using h5::Handle;

namespace {

/// One declared output and how many of its rows have arrived.
struct Target {
    enum class Kind { numeric, codes, obsm };
    std::string label; ///< "obs['x']" or "obsm['X']", for messages
    std::string name;
    Kind kind;
    std::int64_t n_cols = 1;
    std::vector<std::string> categories; ///< categorical columns
    Handle dataset;
    std::optional<h5::RowAppender> rows; ///< over dataset, once it is made

    std::int64_t written() const { return rows ? rows->rows_appended() : 0; }
};

} // namespace

struct H5adAnnotationWriter::State {
    State(const std::string& in, const std::string& o, const H5adWriteOptions& opt) : input(in), output(o), out(o), options(opt) {}
    std::string input, output;
    AtomicOutput out; // declared before the handles: they close before it removes the file
    H5adWriteOptions options;
    h5::WriteSettings settings;
    Handle file;
    std::int64_t n_obs = 0;
    std::vector<Target> targets;

    Target& find(const std::string& name, Target::Kind kind) {
        for (auto& t : targets)
            if (t.name == name && t.kind == kind) return t;
        throw Error(fmt::format("{}: no output '{}' was declared", output, name));
    }

    Target& declare(std::string label, std::string name, Target::Kind kind) {
        for (const auto& t : targets)
            if (t.label == label) throw Error(fmt::format("{}: {} is declared twice", output, label));
        targets.push_back({std::move(label), std::move(name), kind, 1, {}, Handle(), std::nullopt});
        return targets.back();
    }

    /// Checks that a block of @p rows continues @p t in row order.
    void check_block(const Target& t, std::int64_t first_row, std::int64_t rows) const {
        if (first_row != t.written())
            throw Error(fmt::format("{}: {} got rows from {} but {} rows were written (blocks must arrive in row order)", output,
                                    t.label, first_row, t.written()));
        if (rows < 0 || first_row + rows > n_obs)
            throw Error(fmt::format("{}: {} rows [{}, {}) pass the {} cells of the input", output, t.label, first_row,
                                    first_row + rows, n_obs));
    }

    /// Runs @p fn, naming the output in any error.
    template <class Fn> void guarded(Fn&& fn) {
        try {
            fn();
        } catch (const Error& e) {
            const std::string what = e.what();
            if (what.rfind(output, 0) == 0) throw;
            throw Error(fmt::format("{}: {}", output, what));
        }
    }
};

H5adAnnotationWriter::H5adAnnotationWriter(const std::string& input, const std::string& output, const H5adWriteOptions& options) {
    refuse_overwriting_input(input, output);
    s_ = std::make_unique<State>(input, output, options);
    s_->settings.gzip_level = options.gzip_level;
    s_->guarded([&] { refuse_old_anndata_layout(input); });
    // The kernel copies the bytes on another thread while this one reads every element but the
    // matrices: the copy carries them all, so one that anndata or scipy would refuse (codes
    // past the categories, a short column) is refused here, naming the input. (1M cells: the
    // copy 0.35 s, the check 0.48 s, one after the other before.)
    auto copy = std::async(std::launch::async, [this, &input] { s_->guarded([&] { copy_file_bytes(input, s_->out.temp_path()); }); });
    try {
        (void)read_h5ad(input, {.read_X = false, .read_layers = false, .read_raw_X = false, .read_obsp = false});
    } catch (...) {
        copy.wait(); // the input's fault comes first; the temporary goes with s_
        throw;
    }
    copy.get();
    s_->guarded([&] {
        s_->file = h5::open_file_rw(s_->out.temp_path().string());
        s_->n_obs = h5ad_dataframe_rows(s_->file, "obs");
    });
}

H5adAnnotationWriter::~H5adAnnotationWriter() = default;

std::int64_t H5adAnnotationWriter::n_obs() const { return s_->n_obs; }

void H5adAnnotationWriter::add_obs_numeric(const std::string& name, DType dtype) {
    if (dtype != DType::float64 && dtype != DType::float32 && dtype != DType::bool_)
        throw Error(fmt::format("{}: obs['{}'] must be float32, float64 or bool, not {}", s_->output, name, dtype_name(dtype)));
    auto& t = s_->declare(fmt::format("obs['{}']", name), name, Target::Kind::numeric);
    s_->guarded([&] {
        Handle obs = open_dataframe_for_columns(s_->file, "obs", {name});
        t.dataset = h5::create_ndarray_dataset(obs, name, dtype, {s_->n_obs}, s_->settings);
        h5::write_encoding(t.dataset, "array", "0.2.0");
        t.rows.emplace(t.dataset, dtype, s_->options.threads);
    });
}

void H5adAnnotationWriter::add_obs_categorical(const std::string& name, const std::vector<std::string>& categories, bool ordered) {
    {
        auto sorted = categories;
        std::sort(sorted.begin(), sorted.end());
        if (const auto d = std::adjacent_find(sorted.begin(), sorted.end()); d != sorted.end())
            throw Error(fmt::format("{}: obs['{}'] declares category '{}' twice (pandas needs unique categories)", s_->output,
                                    name, *d));
    }
    auto& t = s_->declare(fmt::format("obs['{}']", name), name, Target::Kind::codes);
    t.categories = categories;
    s_->guarded([&] {
        Handle obs = open_dataframe_for_columns(s_->file, "obs", {name});
        Handle g = h5::create_group(obs, name);
        h5::write_encoding(g, "categorical", "0.2.0");
        h5::write_bool_attr(g, "ordered", ordered);
        t.dataset = h5::create_ndarray_dataset(g, "codes", DType::int32, {s_->n_obs}, s_->settings);
        h5::write_encoding(t.dataset, "array", "0.2.0");
        t.rows.emplace(t.dataset, DType::int32, s_->options.threads);
        const auto n_categories = static_cast<std::int64_t>(categories.size());
        write_h5ad_element(g, "categories", Element{StringArray{{n_categories}, categories}}, s_->options);
    });
}

void H5adAnnotationWriter::add_obsm(const std::string& name, std::int64_t n_cols) {
    if (n_cols < 0) throw Error(fmt::format("{}: obsm['{}'] with {} columns", s_->output, name, n_cols));
    auto& t = s_->declare(fmt::format("obsm['{}']", name), name, Target::Kind::obsm);
    t.n_cols = n_cols;
    s_->guarded([&] {
        if (!h5::is_group(s_->file, "obsm")) {
            Handle g = h5::create_group(s_->file, "obsm");
            h5::write_encoding(g, "dict", "0.1.0");
        }
        Handle g = h5::open_group(s_->file, "obsm");
        h5::unlink_if_exists(g, name);
        t.dataset = h5::create_ndarray_dataset(g, name, DType::float32, {s_->n_obs, n_cols}, s_->settings);
        h5::write_encoding(t.dataset, "array", "0.2.0");
        t.rows.emplace(t.dataset, DType::float32, s_->options.threads);
    });
}

void H5adAnnotationWriter::set_uns(const std::string& key, const Element& value) {
    Mapping m;
    m.set(key, value);
    s_->guarded([&] { amend_h5ad_mapping(s_->file, "uns", m, s_->options); });
}

void H5adAnnotationWriter::write_obs(const std::string& name, std::int64_t first_row, std::span<const double> values) {
    auto& t = s_->find(name, Target::Kind::numeric);
    const auto rows = static_cast<std::int64_t>(values.size());
    s_->check_block(t, first_row, rows);
    s_->guarded([&] { t.rows->append(values.data(), rows); });
}

void H5adAnnotationWriter::write_obs(const std::string& name, std::int64_t first_row, std::span<const float> values) {
    auto& t = s_->find(name, Target::Kind::numeric);
    const auto rows = static_cast<std::int64_t>(values.size());
    s_->check_block(t, first_row, rows);
    s_->guarded([&] { t.rows->append(values.data(), rows); });
}

void H5adAnnotationWriter::write_obs_codes(const std::string& name, std::int64_t first_row, std::span<const std::int32_t> codes) {
    auto& t = s_->find(name, Target::Kind::codes);
    const auto rows = static_cast<std::int64_t>(codes.size());
    s_->check_block(t, first_row, rows);
    const auto n_cat = static_cast<std::int64_t>(t.categories.size());
    for (std::size_t i = 0; i < codes.size(); ++i)
        if (codes[i] < -1 || codes[i] >= n_cat)
            throw Error(fmt::format("{}: {} code {} at row {} is outside [-1, {}) ({} categories)", s_->output, t.label, codes[i],
                                    first_row + static_cast<std::int64_t>(i), n_cat, n_cat));
    s_->guarded([&] { t.rows->append(codes.data(), rows); });
}

void H5adAnnotationWriter::write_obs(const std::string& name, std::int64_t first_row, const Column& rows) {
    const auto one_d = [&](const NdArray& a) {
        if (a.shape.size() != 1) throw Error(fmt::format("{}: a block of obs['{}'] is not 1-D", s_->output, name));
        return static_cast<std::size_t>(a.shape[0]);
    };
    if (const auto* a = std::get_if<NdArray>(&rows)) {
        if (a->dtype == DType::float64) return write_obs(name, first_row, std::span(a->data<double>(), one_d(*a)));
        if (a->dtype == DType::float32) return write_obs(name, first_row, std::span(a->data<float>(), one_d(*a)));
        if (a->dtype == DType::bool_) { // stored as one byte 0 / 1, the layout of bool
            auto& t = s_->find(name, Target::Kind::numeric);
            const auto n = static_cast<std::int64_t>(one_d(*a));
            s_->check_block(t, first_row, n);
            s_->guarded([&] { t.rows->append(reinterpret_cast<const bool*>(a->data<std::uint8_t>()), n); });
            return;
        }
    } else if (const auto* c = std::get_if<Categorical>(&rows); c && c->codes.dtype == DType::int32) {
        const auto& declared = s_->find(name, Target::Kind::codes).categories;
        const auto* given = std::get_if<StringArray>(&c->categories);
        if (!given || given->values != declared)
            throw Error(fmt::format("{}: a block of obs['{}'] has other categories than declared", s_->output, name));
        return write_obs_codes(name, first_row, std::span(c->codes.data<std::int32_t>(), one_d(c->codes)));
    }
    throw Error(fmt::format("{}: obs['{}'] blocks must be float32 / float64 / bool arrays or int32-coded categoricals", s_->output, name));
}

void H5adAnnotationWriter::write_obsm(const std::string& name, std::int64_t first_row, const RowMatrixF& rows) {
    auto& t = s_->find(name, Target::Kind::obsm);
    if (rows.cols() != t.n_cols)
        throw Error(fmt::format("{}: {} has {} columns but a block has {}", s_->output, t.label, t.n_cols, rows.cols()));
    s_->check_block(t, first_row, rows.rows());
    s_->guarded([&] { t.rows->append(rows.data(), rows.rows()); });
}

void H5adAnnotationWriter::commit() {
    for (const auto& t : s_->targets)
        if (t.written() != s_->n_obs)
            throw Error(fmt::format("{}: {} received {} of {} rows", s_->output, t.label, t.written(), s_->n_obs));
    s_->guarded([&] {
        for (auto& t : s_->targets)
            if (t.rows) t.rows->finish();
    });
    for (auto& t : s_->targets) t.rows.reset(), t.dataset.reset();
    if (H5Fflush(s_->file, H5F_SCOPE_GLOBAL) < 0)
        throw Error(fmt::format("{}: cannot flush ({})", s_->output, h5::error_stack()));
    s_->file.reset();
    s_->out.commit();
}

} // namespace scx

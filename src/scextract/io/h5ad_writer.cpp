#include "scextract/io/h5ad_writer.hpp"
#include "scextract/io/h5ad_body.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/anndata_check.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/h5ad_reader.hpp"
#include "scextract/io/hdf5.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>
#include <filesystem>

#include <fmt/format.h>

namespace scx {

namespace {

using h5::Handle;

class ElementWriter {
public:
    explicit ElementWriter(const H5adWriteOptions& o) { settings_.gzip_level = o.gzip_level; }

    void write(hid_t parent, const std::string& name, const Element& e) {
        std::visit([&](const auto& v) { write_value(parent, name, v); }, e.value);
    }
    void write_column(hid_t parent, const std::string& name, const Column& c) {
        std::visit([&](const auto& v) { write_value(parent, name, v); }, c);
    }
    void write_matrix(hid_t parent, const std::string& name, const std::variant<NdArray, SparseArray>& m) {
        std::visit([&](const auto& v) { write_value(parent, name, v); }, m);
    }

    void write_value(hid_t parent, const std::string& name, const NdArray& a) {
        h5::write_ndarray(parent, name, a, settings_);
        Handle d = h5::open_dataset(parent, name);
        h5::write_encoding(d, a.shape.empty() ? "numeric-scalar" : "array", "0.2.0");
    }

    void write_value(hid_t parent, const std::string& name, const StringArray& s) {
        h5::write_strings(parent, name, s, settings_);
        Handle d = h5::open_dataset(parent, name);
        h5::write_encoding(d, s.shape.empty() ? "string" : "string-array", "0.2.0");
    }

    void write_value(hid_t parent, const std::string& name, const SparseArray& s) {
        check_sparse_array(s, name);
        Handle g = h5::create_group(parent, name);
        h5::write_encoding(g, s.format == SparseArray::Format::csr ? "csr_matrix" : "csc_matrix", "0.1.0");
        h5::write_int_array_attr(g, "shape", {s.n_rows, s.n_cols});
        h5::write_ndarray(g, "data", s.data, settings_);
        h5::write_ndarray(g, "indices", s.indices, settings_);
        h5::write_ndarray(g, "indptr", s.indptr, settings_);
    }

    void write_value(hid_t parent, const std::string& name, const Categorical& c) {
        check_column(c, c.codes.size(), name);
        Handle g = h5::create_group(parent, name);
        h5::write_encoding(g, "categorical", "0.2.0");
        h5::write_bool_attr(g, "ordered", c.ordered);
        write_value(g, "codes", c.codes);
        std::visit([&](const auto& cats) { write_value(g, "categories", cats); }, c.categories);
    }

    void write_value(hid_t parent, const std::string& name, const NullableArray& n) {
        Handle g = h5::create_group(parent, name);
        const char* enc = n.kind == NullableArray::Kind::integer   ? "nullable-integer"
                          : n.kind == NullableArray::Kind::boolean ? "nullable-boolean"
                                                                   : "nullable-string-array";
        h5::write_encoding(g, enc, "0.1.0");
        if (n.kind == NullableArray::Kind::string) write_value(g, "values", n.strings);
        else write_value(g, "values", n.values);
        std::vector<bool> mask(n.mask.begin(), n.mask.end());
        write_value(g, "mask", NdArray::from(mask));
    }

    void write_value(hid_t parent, const std::string& name, const DataFrame& df) {
        for (const auto& [col, _] : df.columns)
            if (col == df.index_name) throw Error(fmt::format("dataframe {}: column '{}' clashes with the index name", name, col));
        Handle g = h5::create_group(parent, name);
        h5::write_encoding(g, "dataframe", "0.2.0");
        h5::write_string_attr(g, "_index", df.index_name);
        std::vector<std::string> order;
        for (const auto& [col, c] : df.columns) {
            if (column_size(c) != df.n_rows())
                throw Error(fmt::format("dataframe {}: column '{}' has {} rows but the index has {}", name, col,
                                        column_size(c), df.n_rows()));
            order.push_back(col);
        }
        h5::write_string_array_attr(g, "column-order", order);
        write_value(g, df.index_name, StringArray{{df.n_rows()}, df.index});
        for (const auto& [col, c] : df.columns) write_column(g, col, c);
    }

    void write_value(hid_t parent, const std::string& name, const RecordArray& r) {
        h5::write_compound(parent, name, r, settings_);
        Handle d = h5::open_dataset(parent, name);
        h5::write_encoding(d, "rec-array", "0.2.0");
    }

    void write_value(hid_t parent, const std::string& name, const Mapping& m) {
        Handle g = h5::create_group(parent, name);
        h5::write_encoding(g, "dict", "0.1.0");
        for (const auto& [key, e] : m.items) write(g, key, e);
    }

private:
    h5::WriteSettings settings_;
};

void write_all(hid_t f, const AnnData& ad, ElementWriter& w) {
    h5::write_encoding(f, "anndata", "0.1.0");
    if (ad.obs.n_rows() != ad.n_obs) throw Error(fmt::format("obs has {} rows but n_obs is {}", ad.obs.n_rows(), ad.n_obs));
    if (ad.var.n_rows() != ad.n_vars) throw Error(fmt::format("var has {} rows but n_vars is {}", ad.var.n_rows(), ad.n_vars));
    if (ad.X) w.write_matrix(f, "X", *ad.X);
    w.write_value(f, "obs", ad.obs);
    w.write_value(f, "var", ad.var);
    w.write_value(f, "obsm", ad.obsm);
    w.write_value(f, "varm", ad.varm);
    w.write_value(f, "obsp", ad.obsp);
    w.write_value(f, "varp", ad.varp);
    w.write_value(f, "layers", ad.layers);
    w.write_value(f, "uns", ad.uns);
    if (ad.raw) {
        Handle g = h5::create_group(f, "raw");
        h5::write_encoding(g, "raw", "0.1.0");
        if (ad.raw->X) w.write_matrix(g, "X", *ad.raw->X);
        w.write_value(g, "var", ad.raw->var);
        w.write_value(g, "varm", ad.raw->varm);
    }
}

} // namespace

void write_h5ad_body(hid_t file, const AnnData& ad, const H5adWriteOptions& options) {
    ElementWriter w(options);
    write_all(file, ad, w);
}

void write_h5ad_element(hid_t parent, const std::string& name, const Element& e, const H5adWriteOptions& options) {
    ElementWriter w(options);
    w.write(parent, name, e);
}

void refuse_old_anndata_layout(const std::string& input) {
    Handle f = h5::open_file_read(input);
    if (h5::read_string_attr(f, "encoding-type").value_or("") != "anndata")
        throw Error(fmt::format("{}: written by anndata <= 0.7; only the current encoding can be amended in a copy", input));
}

void copy_h5ad_for_amending(const std::string& input, const std::filesystem::path& temp_path) {
    refuse_old_anndata_layout(input);
    copy_file_bytes(input, temp_path);
}

void copy_file_bytes(const std::string& input, const std::filesystem::path& temp_path) {
    // by hand, not std::filesystem::copy_file: its sendfile path reports a full disk as
    // "Input/output error"; copy_file_range(2) and write(2) say what went wrong
    const auto fail = [&](const char* what) {
        throw Error(fmt::format("cannot {} the copy of {}: {}", what, input, std::strerror(errno)));
    };
    const int in = ::open(input.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) fail("read");
    const int out = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        const int e = errno;
        ::close(in);
        errno = e;
        fail("create");
    }
    const auto fail_closing = [&](const char* what, int e) {
        ::close(in), ::close(out);
        errno = e;
        fail(what);
    };
    // The kernel copies without passing the bytes through this process (a 1.1 GB input: 0.3 s
    // against about 2 s of write(2) into the page cache); where it cannot (another file
    // system, an old kernel), the plain loop below does.
    bool copied = false;
    for (std::int64_t total = 0;;) {
        const ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, std::size_t{1} << 30, 0);
        if (n == 0) {
            copied = true;
            break;
        }
        if (n > 0) {
            total += n;
            continue;
        }
        if (errno == EINTR) continue;
        const bool unsupported = errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL;
        if (!unsupported || total > 0) fail_closing("write", errno);
        break;
    }
    if (!copied) {
        std::vector<char> buf(std::size_t{1} << 20);
        for (;;) {
            const ssize_t n = ::read(in, buf.data(), buf.size());
            if (n == 0) break;
            if (n < 0) {
                if (errno == EINTR) continue;
                fail_closing("read", errno);
            }
            for (ssize_t done = 0; done < n;) {
                const ssize_t w = ::write(out, buf.data() + done, static_cast<std::size_t>(n - done));
                if (w < 0 && errno == EINTR) continue;
                if (w <= 0) fail_closing("write", w < 0 ? errno : ENOSPC);
                done += w;
            }
        }
    }
    ::close(in);
    if (::close(out) != 0) fail("write");
    std::error_code ec;
    std::filesystem::permissions(temp_path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::add, ec);
}

Handle open_dataframe_for_columns(hid_t file, const char* name, const std::vector<std::string>& columns) {
    Handle g = h5::open_group(file, name);
    auto order = h5::has_attr(g, "column-order") ? h5::read_string_array_attr(g, "column-order") : std::vector<std::string>{};
    const auto index_name = h5::read_string_attr(g, "_index").value_or("_index");
    for (const auto& k : columns) {
        if (k == index_name) throw Error(fmt::format("{} column '{}' clashes with the index name", name, k));
        h5::unlink_if_exists(g, k);
        if (std::find(order.begin(), order.end(), k) == order.end()) order.push_back(k);
    }
    h5::write_string_array_attr(g, "column-order", order);
    return g;
}

void amend_h5ad_mapping(hid_t file, const char* name, const Mapping& m, const H5adWriteOptions& options) {
    if (m.items.empty()) return;
    if (!h5::is_group(file, name)) {
        Handle g = h5::create_group(file, name);
        h5::write_encoding(g, "dict", "0.1.0");
    }
    Handle g = h5::open_group(file, name);
    ElementWriter w(options);
    for (const auto& [k, e] : m.items) {
        h5::unlink_if_exists(g, k);
        w.write(g, k, e);
    }
}

namespace {

/// Replaces columns of an on-disk dataframe and keeps column-order in step.
void amend_dataframe(hid_t f, const char* name, const std::vector<std::pair<std::string, Column>>& cols, std::int64_t n,
                     ElementWriter& w) {
    if (cols.empty()) return;
    std::vector<std::string> names;
    for (const auto& [k, c] : cols) {
        if (column_size(c) != n)
            throw Error(fmt::format("new {} column '{}' has {} rows but the file has {}", name, k, column_size(c), n));
        names.push_back(k);
    }
    Handle g = open_dataframe_for_columns(f, name, names);
    for (const auto& [k, c] : cols) w.write_column(g, k, c);
}

} // namespace

void apply_additions(AnnData& ad, const H5adAdditions& add) {
    for (const auto& [k, c] : add.obs_columns) ad.obs.set(k, c);
    for (const auto& [k, c] : add.var_columns) ad.var.set(k, c);
    for (const auto& [k, e] : add.obsm.items) ad.obsm.set(k, e);
    for (const auto& [k, e] : add.uns.items) ad.uns.set(k, e);
}

void write_h5ad(const AnnData& ad, const std::string& path, const H5adWriteOptions& options) {
    check_anndata(ad, path); // nothing is written that a reader here, anndata or scipy would refuse
    AtomicOutput out(path);
    {
        Handle f = h5::create_file(out.temp_path().string());
        ElementWriter w(options);
        try {
            write_all(f, ad, w);
        } catch (const Error& e) {
            throw Error(fmt::format("{}: {}", path, e.what()));
        }
        if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) throw Error(fmt::format("{}: cannot flush ({})", path, h5::error_stack()));
    }
    out.commit();
}

void write_h5ad_with_additions(const std::string& input, const std::string& output, const H5adAdditions& additions,
                               const H5adWriteOptions& options) {
    refuse_overwriting_input(input, output);
    bool modern = false;
    std::int64_t n_obs = 0, n_vars = 0;
    {
        Handle f = h5::open_file_read(input);
        modern = h5::read_string_attr(f, "encoding-type").value_or("") == "anndata";
    }
    if (!modern) {
        // anndata <= 0.7 layouts: rewrite everything in the current encoding.
        auto ad = read_h5ad(input);
        apply_additions(ad, additions);
        write_h5ad(ad, output, options);
        return;
    }
    {
        // sizes for validation, from the index datasets
        auto meta = read_h5ad(input, {.read_X = false, .read_layers = false, .read_raw_X = false, .read_obsp = false});
        n_obs = meta.n_obs;
        n_vars = meta.n_vars;
    }
    for (const auto& [k, c] : additions.obs_columns) check_column(c, n_obs, fmt::format("{}: new obs/{}", output, k));
    for (const auto& [k, c] : additions.var_columns) check_column(c, n_vars, fmt::format("{}: new var/{}", output, k));
    AtomicOutput out(output);
    try {
        copy_h5ad_for_amending(input, out.temp_path());
    } catch (const Error& e) {
        throw Error(fmt::format("{}: {}", output, e.what()));
    }
    {
        Handle f = h5::open_file_rw(out.temp_path().string());
        ElementWriter w(options);
        try {
            amend_dataframe(f, "obs", additions.obs_columns, n_obs, w);
            amend_dataframe(f, "var", additions.var_columns, n_vars, w);
            for (const auto& [k, e] : additions.obsm.items) {
                const auto* a = std::get_if<NdArray>(&e.value);
                const auto rows = a && !a->shape.empty() ? a->shape[0] : -1;
                if (rows != n_obs) throw Error(fmt::format("new obsm['{}'] has {} rows but the file has {}", k, rows, n_obs));
            }
            amend_h5ad_mapping(f, "obsm", additions.obsm, options);
            amend_h5ad_mapping(f, "uns", additions.uns, options);
        } catch (const Error& e) {
            throw Error(fmt::format("{}: {}", output, e.what()));
        }
        if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) throw Error(fmt::format("{}: cannot flush ({})", output, h5::error_stack()));
    }
    out.commit();
}

} // namespace scx

#include "scextract/io/h5ad_stream_writer.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/anndata_check.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/h5ad_body.hpp"
#include "scextract/io/hdf5.hpp"

#include <fmt/format.h>

#include <limits>
#include <vector>

namespace scx {

using h5::Handle;

namespace {

// 256k elements (1 MiB of float32) per chunk: large enough for fast gzip, small enough
// that a row block reader touches little beyond what it needs.
constexpr hsize_t kChunkElems = 1 << 18;

Handle create_extendible(hid_t group, const char* name, hid_t type, int gzip_level) {
    const hsize_t dims = 0, maxdims = H5S_UNLIMITED;
    Handle space(H5Screate_simple(1, &dims, &maxdims));
    Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
    H5Pset_obj_track_times(dcpl, false); // identical runs give identical bytes
    H5Pset_chunk(dcpl, 1, &kChunkElems);
    if (gzip_level > 0) H5Pset_deflate(dcpl, static_cast<unsigned>(gzip_level));
    Handle d(H5Dcreate2(group, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    if (!d.valid()) throw Error(fmt::format("{}/{}: cannot create dataset ({})", h5::where(group), name, h5::error_stack()));
    return d;
}

void append_1d(hid_t dset, hsize_t offset, hsize_t count, hid_t mem_type, const void* data) {
    if (count == 0) return;
    const hsize_t size = offset + count;
    if (H5Dset_extent(dset, &size) < 0) throw Error(fmt::format("{}: cannot extend ({})", h5::where(dset), h5::error_stack()));
    Handle fspace(H5Dget_space(dset));
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &offset, nullptr, &count, nullptr);
    Handle mspace(H5Screate_simple(1, &count, nullptr));
    if (H5Dwrite(dset, mem_type, mspace, fspace, H5P_DEFAULT, data) < 0)
        throw Error(fmt::format("{}: cannot write ({})", h5::where(dset), h5::error_stack()));
}

} // namespace

struct H5adCsrStreamWriter::State {
    State(const std::string& p, std::int64_t cols, const H5adWriteOptions& o) : path(p), out(p), n_cols(cols), options(o) {}
    std::string path;
    AtomicOutput out;
    std::int64_t n_cols;
    H5adWriteOptions options;
    Handle file, x, data, indices;
    std::vector<std::int64_t> indptr{0};
};

H5adCsrStreamWriter::H5adCsrStreamWriter(const std::string& path, std::int64_t n_cols, const H5adWriteOptions& options)
    : s_(std::make_unique<State>(path, n_cols, options)) {
    if (n_cols < 0 || n_cols > std::numeric_limits<std::int32_t>::max())
        throw Error(fmt::format("{}: {} columns do not fit int32 indices", path, n_cols));
    h5::init_hdf5();
    s_->file = h5::create_file(s_->out.temp_path().string());
    s_->x = h5::create_group(s_->file, "X");
    s_->data = create_extendible(s_->x, "data", H5T_IEEE_F32LE, options.gzip_level);
    s_->indices = create_extendible(s_->x, "indices", H5T_STD_I32LE, options.gzip_level);
}

H5adCsrStreamWriter::~H5adCsrStreamWriter() = default;

std::int64_t H5adCsrStreamWriter::rows_written() const { return static_cast<std::int64_t>(s_->indptr.size()) - 1; }

void H5adCsrStreamWriter::append(const CsrMatrix& block) {
    if (block.n_cols != s_->n_cols)
        throw Error(fmt::format("{}: block has {} columns, the matrix {}", s_->path, block.n_cols, s_->n_cols));
    block.validate(s_->path + ": appended block");
    const auto offset = static_cast<hsize_t>(s_->indptr.back());
    append_1d(s_->data, offset, block.values.size(), H5T_NATIVE_FLOAT, block.values.data());
    append_1d(s_->indices, offset, block.indices.size(), H5T_NATIVE_INT32, block.indices.data());
    for (std::int64_t r = 0; r < block.n_rows; ++r)
        s_->indptr.push_back(static_cast<std::int64_t>(offset) + block.indptr[r + 1]);
}

void H5adCsrStreamWriter::finish(const AnnData& rest) {
    if (rest.X) throw Error(fmt::format("{}: finish() got an X as well as the streamed one", s_->path));
    check_anndata(rest, s_->path);
    if (rest.n_obs != rows_written())
        throw Error(fmt::format("{}: {} rows were written but obs has {}", s_->path, rows_written(), rest.n_obs));
    if (rest.n_vars != s_->n_cols)
        throw Error(fmt::format("{}: X has {} columns but var has {}", s_->path, s_->n_cols, rest.n_vars));
    try {
        h5::write_encoding(s_->x, "csr_matrix", "0.1.0");
        h5::write_int_array_attr(s_->x, "shape", {rows_written(), s_->n_cols});
        h5::WriteSettings ws;
        ws.gzip_level = s_->options.gzip_level;
        // int32 like the indices while nnz fits, as scipy and anndata do: scikit-learn's
        // sparse kernels refuse a CSR matrix whose indptr and indices dtypes differ
        const auto n_ptr = static_cast<std::int64_t>(s_->indptr.size());
        if (s_->indptr.back() <= std::numeric_limits<std::int32_t>::max()) {
            const std::vector<std::int32_t> narrow(s_->indptr.begin(), s_->indptr.end());
            h5::write_ndarray(s_->x, "indptr", NdArray::from(narrow, {n_ptr}), ws);
        } else {
            h5::write_ndarray(s_->x, "indptr", NdArray::from(s_->indptr, {n_ptr}), ws);
        }
        s_->data.reset();
        s_->indices.reset();
        s_->x.reset();
        write_h5ad_body(s_->file, rest, s_->options);
    } catch (const Error& e) {
        throw Error(fmt::format("{}: {}", s_->path, e.what()));
    }
    if (H5Fflush(s_->file, H5F_SCOPE_GLOBAL) < 0) throw Error(fmt::format("{}: cannot flush ({})", s_->path, h5::error_stack()));
    s_->file.reset();
    s_->out.commit();
}

} // namespace scx

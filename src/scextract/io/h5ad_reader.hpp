#pragma once
/// @file h5ad_reader.hpp
/// @brief Reading AnnData .h5ad files: anndata >= 0.8 (encoding attributes),
/// anndata 0.7 (`__categories` groups) and anndata <= 0.6 (h5sparse groups,
/// compound obs/var), whole or a block of rows at a time.

#include "scextract/core/csr_matrix.hpp"
#include "scextract/core/row_block_reader.hpp"
#include "scextract/io/anndata.hpp"

#include <cstdint>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace scx {

/// What read_h5ad() loads. Metadata (obs, var, obsm, uns, ...) is always read;
/// the large matrices can be skipped.
struct H5adReadOptions {
    bool read_X = true;      ///< load X
    bool read_layers = true; ///< load every layer
    bool read_raw_X = true;  ///< load raw.X (raw.var is always read)
    bool read_obsp = true;   ///< load obsp / varp graphs
    /// Load obs and obsm. false leaves both empty (n_obs is still set, from the length of
    /// obs's index), so a caller that streams the cells reads nothing that grows with them.
    bool read_obs = true;
};

/// Deepest nesting of groups read_h5ad() follows (a dict in uns counts one level, obs/uns
/// themselves one). anndata files nest a handful of levels; a deeper file is refused
/// rather than risking the stack, as is any group reached twice through hard links (a cycle).
inline constexpr int kH5adMaxGroupDepth = 64;

/// Reads a whole h5ad file. Elements with an encoding scextract does not model
/// (e.g. awkward arrays, structured uns records) are skipped and listed in
/// @p warnings when given. Throws scx::Error naming file and element.
AnnData read_h5ad(const std::string& path, const H5adReadOptions& options = {},
                  std::vector<std::string>* warnings = nullptr);

/// read_h5ad() on an HDF5 file image held in memory (HDF5's core driver; nothing touches
/// the disk); @p what names it in messages. Used by the h5ad fuzz target (tests/fuzz).
AnnData read_h5ad_image(std::span<const std::byte> image, const std::string& what, const H5adReadOptions& options = {},
                        std::vector<std::string>* warnings = nullptr);

/// Which anndata wrote @p path, from its root and obs alone (reads no data). Throws for a
/// file that is not HDF5 or has no obs.
H5adLayout read_h5ad_layout(const std::string& path);

/// Which matrix inside an h5ad file: X, layers/NAME or raw/X.
struct H5adMatrixLocation {
    std::string layer; ///< empty = X (unless use_raw)
    bool use_raw = false;
    /// HDF5 path of the element ("X", "layers/counts", "raw/X").
    [[nodiscard]] std::string path() const;
};

/// Storage facts about one matrix, read without loading it.
struct H5adMatrixInfo {
    std::string encoding; ///< "csr_matrix", "csc_matrix" or "array"
    std::string dtype;    ///< numpy name of the stored values
    std::int64_t n_rows = 0, n_cols = 0;
    std::int64_t nnz = -1; ///< stored entries for sparse, -1 for dense
};

/// Describes a matrix of an h5ad file; throws if it does not exist.
H5adMatrixInfo inspect_h5ad_matrix(const std::string& path, const H5adMatrixLocation& where);

/// Reads one matrix straight into float32 CSR (dtype conversion inside HDF5, no
/// intermediate copy). CSC and dense inputs are converted.
CsrMatrix read_h5ad_matrix(const std::string& path, const H5adMatrixLocation& where);

/// Streams rows of X, a layer or raw.X. CSR and dense matrices are read block by
/// block with bounded memory (one block plus indptr); a CSC matrix cannot be
/// sliced by rows on disk and is loaded whole on first use.
class H5adRowReader final : public RowBlockReader {
public:
    H5adRowReader(const std::string& path, const H5adMatrixLocation& where);
    ~H5adRowReader() override;
    H5adRowReader(const H5adRowReader&) = delete;
    H5adRowReader& operator=(const H5adRowReader&) = delete;
    [[nodiscard]] std::int64_t n_rows() const override;
    [[nodiscard]] std::int64_t n_cols() const override;
    CsrMatrix read_rows(std::int64_t begin, std::int64_t end) override;
    void read_rows_into(std::int64_t begin, std::int64_t end, CsrMatrix& out) override;
    [[nodiscard]] const H5adMatrixInfo& info() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace scx

#pragma once
/// @file h5ad_stream_writer.hpp
/// @brief Writing an .h5ad whose X arrives block by block, so a matrix larger than
/// memory (a million simulated cells) never has to exist in one piece.

#include "scextract/core/csr_matrix.hpp"
#include "scextract/io/anndata.hpp"
#include "scextract/io/h5ad_writer.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace scx {

/// Streams X as a CSR matrix (float32 values, int32 indices, int64 indptr; anndata's
/// csr_matrix 0.1.0 encoding) into a temporary file beside @p path; finish() adds obs,
/// var and the rest and renames it into place. A writer destroyed before finish()
/// removes its temporary file, so a failed run leaves no partial output.
class H5adCsrStreamWriter {
public:
    H5adCsrStreamWriter(const std::string& path, std::int64_t n_cols, const H5adWriteOptions& options = {});
    ~H5adCsrStreamWriter();
    H5adCsrStreamWriter(const H5adCsrStreamWriter&) = delete;
    H5adCsrStreamWriter& operator=(const H5adCsrStreamWriter&) = delete;

    /// Appends the rows of @p block (n_cols must match; indices sorted within rows).
    void append(const CsrMatrix& block);
    [[nodiscard]] std::int64_t rows_written() const;
    /// Writes every element of @p rest except X (which must be unset; rest.n_obs must
    /// equal rows_written() and rest.n_vars n_cols), then commits the file.
    void finish(const AnnData& rest);

private:
    struct State;
    std::unique_ptr<State> s_;
};

} // namespace scx

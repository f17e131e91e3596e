#pragma once
/// @file operator_file.hpp
/// @brief The operator file (.scxop): an OperatorSet in an scx container of kind "operator".
///
/// Contents (docs/formats.md, "Operator file"):
///   metadata: {"format": "scextract-operator", "format_version": 1, "n_layers", "n_heads",
///              "n_genes", "orientation", "genes": [symbols in panel order], "provenance": {...}}
///   arrays:   "vocab_ids"    <i8 [G]
///             "operators"    <f4 [L, H, G, G]   operators[l, h, i, j] = A(l, h)[i, j]
///             "cooccurrence" <i4 [G, G]         atlas files only

#include "scextract/core/dense.hpp"
#include "scextract/core/operator_set.hpp"
#include "scextract/io/scx_container.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace scx {

/// The container kind and the metadata "format" of an operator file.
inline constexpr const char* kOperatorKind = "operator";
inline constexpr const char* kOperatorFormat = "scextract-operator";
inline constexpr std::int64_t kOperatorFormatVersion = 1;

/// Provenance as the JSON object stored in the file.
nlohmann::ordered_json operator_provenance_json(const OperatorProvenance& p);
/// Parses what operator_provenance_json() writes; absent keys keep their defaults.
/// Throws scx::Error prefixed with @p what for a key of the wrong type.
OperatorProvenance operator_provenance_from_json(const nlohmann::ordered_json& j, const std::string& what);

/// Writes @p set to @p path atomically (OperatorSet::validate() first). Throws scx::Error naming the file.
void write_operator_file(const OperatorSet& set, const std::string& path);

/// An operator file opened through a memory mapping: the panel and provenance are read
/// on opening; an operator is read only when asked for, so one head of a 96-head file
/// costs G x G floats of I/O. The header's CRC and the small arrays' CRCs are always
/// checked; the operators' CRC (which reads the whole array) only with
/// @p verify_operators or verify().
class OperatorFileView {
public:
    explicit OperatorFileView(const std::string& path, bool verify_operators = false);

    [[nodiscard]] const std::string& path() const { return container_.path(); }
    [[nodiscard]] std::int64_t n_layers() const { return n_layers_; }
    [[nodiscard]] std::int64_t n_heads() const { return n_heads_; }
    [[nodiscard]] std::int64_t n_genes() const { return n_genes_; }
    [[nodiscard]] const std::vector<std::string>& genes() const { return genes_; }
    [[nodiscard]] const std::vector<std::int64_t>& vocab_ids() const { return vocab_ids_; }
    [[nodiscard]] const OperatorProvenance& provenance() const { return provenance_; }
    /// The file's whole metadata object.
    [[nodiscard]] const nlohmann::ordered_json& metadata() const { return container_.metadata(); }
    /// A G x G view of A(@p layer, @p head) into the mapping (valid while this object lives).
    /// Throws scx::Error naming the file when the head is out of range.
    [[nodiscard]] Eigen::Map<const RowMatrixF> op(std::int64_t layer, std::int64_t head) const;
    /// G x G co-occurrence counts, row-major (empty span when the file has none).
    [[nodiscard]] std::span<const std::int32_t> cooccurrence() const;
    /// Checks the operators' CRC-32 (reads the whole array).
    void verify() const;
    /// Reads every operator into an OperatorSet.
    [[nodiscard]] OperatorSet load() const;

private:
    ScxContainer container_;
    std::int64_t n_layers_ = 0, n_heads_ = 0, n_genes_ = 0;
    std::vector<std::string> genes_;
    std::vector<std::int64_t> vocab_ids_;
    OperatorProvenance provenance_;
    std::span<const float> operators_;
};

/// Reads a whole operator file, every checksum verified.
OperatorSet read_operator_file(const std::string& path);

} // namespace scx

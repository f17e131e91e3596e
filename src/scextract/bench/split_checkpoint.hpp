#pragma once
/// @file split_checkpoint.hpp
/// @brief Finished method x split results kept on disk as a bench runs, so an interrupted or
/// failed run resumes where it stopped (`bench --resume`) instead of starting over.
///
/// Each record is one file, written atomically when its split finishes: the method's
/// prediction on the test cells, its timings, note and size, and the run's fingerprint (a
/// hash of everything the result depends on: config, data, ruler, version). A record whose
/// fingerprint differs, or that fails its checksum, is never used.

#include "scextract/bench/bench_method.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace scx {

/// One method x split as run_bench() needs it to skip the work.
struct SplitRecord {
    MethodPrediction prediction;
    double cache_seconds = 0;                   ///< the method's prepare(), as first measured
    double seconds = 0;                         ///< run_split(), as measured when computed
    std::string note;                           ///< BenchMethod::split_note()
    std::int64_t trainable_parameters = -1;     ///< MethodInfo after the split
    std::optional<OperatorSize> operator_size;  ///< BenchMethod::operator_size() after the split
};

/// A folder of SplitRecords for one run.
class SplitCheckpoint {
public:
    /// Opens @p folder (created if absent). With @p resume, records of the same
    /// @p fingerprint are reused and a folder holding another run's records is refused
    /// (scx::Error naming it); without, any records there are removed first.
    SplitCheckpoint(std::filesystem::path folder, std::string fingerprint, bool resume);

    /// The record of method @p method_index (named @p method) on split @p split, if kept.
    [[nodiscard]] std::optional<SplitRecord> load(std::int64_t method_index, const std::string& method, std::int64_t split) const;
    /// Keeps a record (atomically: a crash leaves the old state or the new one).
    void save(std::int64_t method_index, const std::string& method, std::int64_t split, const SplitRecord& record) const;
    /// Deletes the folder, once the run's outputs are written.
    void remove() const;

    [[nodiscard]] const std::filesystem::path& folder() const { return folder_; }
    /// Records present when opened (with resume).
    [[nodiscard]] std::int64_t records_found() const { return found_; }

private:
    [[nodiscard]] std::filesystem::path file_of(std::int64_t method_index, const std::string& method, std::int64_t split) const;
    std::filesystem::path folder_;
    std::string fingerprint_;
    std::int64_t found_ = 0;
};

} // namespace scx

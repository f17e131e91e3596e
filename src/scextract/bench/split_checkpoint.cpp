#include "scextract/bench/split_checkpoint.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/sha256.hpp"

#include <cctype>
#include <cstring>
#include <fstream>
#include <iterator>
#include <span>

#include <fmt/format.h>

namespace scx {

namespace {

constexpr char kMagic[] = "SCXSPLIT1\n";
constexpr std::size_t kMagicSize = sizeof(kMagic) - 1;
constexpr const char* kFingerprintFile = "fingerprint.txt";

/// Appends plain values to a byte string.
class Writer {
public:
    template <class T> void value(const T& v) {
        const auto* p = reinterpret_cast<const char*>(&v);
        out_.append(p, sizeof(T));
    }
    template <class T> void array(const T* data, std::int64_t n) {
        value(n);
        out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n) * sizeof(T));
    }
    void text(const std::string& s) { array(s.data(), static_cast<std::int64_t>(s.size())); }
    std::string& bytes() { return out_; }

private:
    std::string out_;
};

/// Reads them back, refusing any size that runs past the end.
class Reader {
public:
    Reader(std::string_view bytes, std::string what) : in_(bytes), what_(std::move(what)) {}
    template <class T> T value() {
        need(sizeof(T));
        T v;
        std::memcpy(&v, in_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }
    template <class T> std::vector<T> array() {
        const auto n = value<std::int64_t>();
        if (n < 0 || static_cast<std::uint64_t>(n) > (in_.size() - pos_) / sizeof(T)) bad("an array runs past the end");
        std::vector<T> v(static_cast<std::size_t>(n));
        std::memcpy(v.data(), in_.data() + pos_, static_cast<std::size_t>(n) * sizeof(T));
        pos_ += static_cast<std::size_t>(n) * sizeof(T);
        return v;
    }
    std::string text() {
        const auto v = array<char>();
        return {v.begin(), v.end()};
    }
    [[nodiscard]] bool done() const { return pos_ == in_.size(); }
    [[noreturn]] void bad(const std::string& why) const { throw Error(fmt::format("{}: {}", what_, why)); }

private:
    void need(std::size_t n) const {
        if (in_.size() - pos_ < n) bad("truncated");
    }
    std::string_view in_;
    std::size_t pos_ = 0;
    std::string what_;
};

std::string file_text(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string checksum(std::string_view bytes) {
    return sha256_hex(std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
}

} // namespace

SplitCheckpoint::SplitCheckpoint(std::filesystem::path folder, std::string fingerprint, bool resume)
    : folder_(std::move(folder)), fingerprint_(std::move(fingerprint)) {
    namespace fs = std::filesystem;
    const auto stamp = folder_ / kFingerprintFile;
    if (resume && fs::exists(stamp)) {
        const auto kept = file_text(stamp);
        if (kept != fingerprint_ + "\n")
            throw Error(fmt::format("{}: holds a run of another config, data, ruler or scextract version; remove the folder "
                                    "or run without --resume",
                                    folder_.string()));
        for (const auto& e : fs::directory_iterator(folder_))
            if (e.path().extension() == ".split") ++found_;
        return;
    }
    std::error_code ec;
    fs::remove_all(folder_, ec);
    fs::create_directories(folder_);
    write_text_atomically(stamp, fingerprint_ + "\n");
}

std::filesystem::path SplitCheckpoint::file_of(std::int64_t method_index, const std::string& method, std::int64_t split) const {
    std::string safe;
    for (const char c : method) safe += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
    return folder_ / fmt::format("m{:02d}-{}-s{:03d}.split", method_index, safe.substr(0, 64), split);
}

void SplitCheckpoint::save(std::int64_t method_index, const std::string& method, std::int64_t split,
                           const SplitRecord& r) const {
    Writer w;
    w.bytes().append(kMagic, kMagicSize);
    w.text(fingerprint_);
    w.text(method);
    w.value(split);
    w.value(r.cache_seconds);
    w.value(r.seconds);
    w.text(r.note);
    w.value(r.trainable_parameters);
    w.value(static_cast<std::uint8_t>(r.operator_size.has_value()));
    w.value(r.operator_size ? r.operator_size->stored_values : std::int64_t{0});
    w.value(r.operator_size ? r.operator_size->mb : 0.0);
    const auto& p = r.prediction;
    w.value(static_cast<std::int64_t>(p.latent.rows()));
    w.array(p.latent.data(), p.latent.size());
    w.array(p.pseudotime.data(), p.pseudotime.size());
    w.array(p.branch.data(), static_cast<std::int64_t>(p.branch.size()));
    w.array(p.stage.data(), static_cast<std::int64_t>(p.stage.size()));
    w.value(static_cast<std::int64_t>(p.binary_scores.size()));
    for (const auto& s : p.binary_scores) w.array(s.data(), s.size());
    auto& bytes = w.bytes();
    bytes += checksum(bytes);
    write_text_atomically(file_of(method_index, method, split), bytes);
}

std::optional<SplitRecord> SplitCheckpoint::load(std::int64_t method_index, const std::string& method, std::int64_t split) const {
    const auto path = file_of(method_index, method, split);
    if (!std::filesystem::exists(path)) return std::nullopt;
    const auto bytes = file_text(path);
    constexpr std::size_t kSum = 64;
    if (bytes.size() < kMagicSize + kSum || bytes.compare(0, kMagicSize, kMagic) != 0 ||
        checksum(std::string_view(bytes).substr(0, bytes.size() - kSum)) != bytes.substr(bytes.size() - kSum))
        return std::nullopt; // torn or foreign: computed again
    Reader in(std::string_view(bytes).substr(kMagicSize, bytes.size() - kMagicSize - kSum), path.string());
    if (in.text() != fingerprint_ || in.text() != method || in.value<std::int64_t>() != split) return std::nullopt;
    SplitRecord r;
    r.cache_seconds = in.value<double>();
    r.seconds = in.value<double>();
    r.note = in.text();
    r.trainable_parameters = in.value<std::int64_t>();
    const bool has_size = in.value<std::uint8_t>() != 0;
    const OperatorSize size{in.value<std::int64_t>(), in.value<double>()};
    if (has_size) r.operator_size = size;
    auto& p = r.prediction;
    const auto rows = in.value<std::int64_t>();
    const auto latent = in.array<float>();
    if (rows < 0 || (rows == 0 ? !latent.empty() : latent.size() % static_cast<std::size_t>(rows) != 0))
        in.bad("latent size is not rows x columns");
    p.latent = rows == 0 ? RowMatrixF() : RowMatrixF::Map(latent.data(), rows, static_cast<Eigen::Index>(latent.size()) / rows);
    const auto pt = in.array<double>();
    p.pseudotime = Eigen::Map<const Eigen::VectorXd>(pt.data(), static_cast<Eigen::Index>(pt.size()));
    p.branch = in.array<std::int64_t>();
    p.stage = in.array<std::int64_t>();
    const auto tasks = in.value<std::int64_t>();
    if (tasks < 0 || tasks > 1000) in.bad("implausible number of binary tasks");
    for (std::int64_t t = 0; t < tasks; ++t) {
        const auto s = in.array<double>();
        p.binary_scores.emplace_back(Eigen::Map<const Eigen::VectorXd>(s.data(), static_cast<Eigen::Index>(s.size())));
    }
    if (!in.done()) in.bad("trailing bytes");
    return r;
}

void SplitCheckpoint::remove() const {
    std::error_code ec;
    std::filesystem::remove_all(folder_, ec);
}

} // namespace scx

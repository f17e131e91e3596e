#pragma once
// Test-only readers for the reference files in tests/fixtures/preprocess/ and the
// shared 10x MatrixMarket folder, and the formatting of the numbers the tests record.
// The library itself never does I/O.

#include "scextract/core/csr_matrix.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace scx::test {

inline std::filesystem::path fixture_dir() {
    return std::filesystem::path(SCX_SOURCE_DIR) / "tests/fixtures/preprocess";
}
// The shared data folder; the environment variable of the same name overrides the build-time path.
inline std::filesystem::path shared_data_dir() {
    const char* env = std::getenv("SCX_SHARED_DATA_DIR");
    return std::filesystem::path(env != nullptr && *env != '\0' ? env : SCX_SHARED_DATA_DIR);
}

// A number in scientific notation with 4 significant digits, for RecordProperty.
inline std::string sci(double v) {
    std::ostringstream s;
    s << std::scientific << std::setprecision(3) << v;
    return s.str();
}

inline std::string read_binary(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path.string());
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// SCXCSR01: magic, n_rows, n_cols, nnz (uint64 LE), then per row a varint count
// and (varint column gap, varint count) pairs; see tests/fixtures/preprocess/README.md.
inline CsrMatrix read_counts_csr(const std::filesystem::path& path) {
    const std::string bytes = read_binary(path);
    if (bytes.size() < 32 || bytes.compare(0, 8, "SCXCSR01") != 0)
        throw std::runtime_error(path.string() + ": not SCXCSR01");
    std::size_t pos = 8;
    const auto u64 = [&] {
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i)
            v |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[pos + i])) << (8 * i);
        pos += 8;
        return v;
    };
    const auto varint = [&] {
        std::uint64_t v = 0;
        for (int shift = 0;; shift += 7) {
            if (pos >= bytes.size()) throw std::runtime_error(path.string() + ": truncated");
            const auto b = static_cast<unsigned char>(bytes[pos++]);
            v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
            if (!(b & 0x80)) return v;
        }
    };
    CsrMatrix m;
    m.n_rows = static_cast<std::int64_t>(u64());
    m.n_cols = static_cast<std::int64_t>(u64());
    const auto nnz = u64();
    m.values.reserve(nnz);
    m.indices.reserve(nnz);
    m.indptr.assign(1, 0);
    for (std::int64_t r = 0; r < m.n_rows; ++r) {
        const auto k = varint();
        std::int64_t col = -1;
        for (std::uint64_t j = 0; j < k; ++j) {
            col += static_cast<std::int64_t>(varint()) + 1;
            m.indices.push_back(static_cast<std::int32_t>(col));
            m.values.push_back(static_cast<float>(varint()));
        }
        m.indptr.push_back(m.nnz());
    }
    if (static_cast<std::uint64_t>(m.nnz()) != nnz) throw std::runtime_error(path.string() + ": nnz mismatch");
    return m;
}

inline std::vector<std::string> read_lines(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path.string());
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(line);
    return lines;
}

// A CSV with a header row and no quoted commas (the fixture script writes none).
struct Csv {
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;

    [[nodiscard]] std::size_t col(const std::string& name) const {
        for (std::size_t i = 0; i < header.size(); ++i)
            if (header[i] == name) return i;
        throw std::runtime_error("no CSV column " + name);
    }
    [[nodiscard]] std::vector<std::string> strings(const std::string& name) const {
        const auto c = col(name);
        std::vector<std::string> out;
        for (const auto& r : rows) out.push_back(r[c]);
        return out;
    }
    [[nodiscard]] std::vector<double> doubles(const std::string& name) const {
        const auto c = col(name);
        std::vector<double> out;
        for (const auto& r : rows) out.push_back(std::strtod(r[c].c_str(), nullptr)); // "nan" parses to NaN
        return out;
    }
    [[nodiscard]] std::vector<float> floats(const std::string& name) const {
        const auto c = col(name);
        std::vector<float> out;
        for (const auto& r : rows) out.push_back(std::strtof(r[c].c_str(), nullptr));
        return out;
    }
    [[nodiscard]] std::vector<std::int64_t> ints(const std::string& name) const {
        const auto c = col(name);
        std::vector<std::int64_t> out;
        for (const auto& r : rows) out.push_back(std::strtoll(r[c].c_str(), nullptr, 10));
        return out;
    }
};

inline Csv read_csv(const std::filesystem::path& path) {
    const auto split = [](const std::string& line) {
        std::vector<std::string> cells;
        std::string cell;
        std::istringstream ss(line);
        while (std::getline(ss, cell, ',')) cells.push_back(cell);
        if (!line.empty() && line.back() == ',') cells.emplace_back();
        return cells;
    };
    const auto lines = read_lines(path);
    if (lines.empty()) throw std::runtime_error(path.string() + ": empty");
    Csv csv;
    csv.header = split(lines.front());
    for (std::size_t i = 1; i < lines.size(); ++i) csv.rows.push_back(split(lines[i]));
    return csv;
}

// Output of a shell command (used to run gzip -dc; nullopt-like empty on failure).
inline bool run_and_read(const std::string& command, std::string& out) {
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    if (!pipe) return false;
    out.clear();
    char buf[1 << 16];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe.get())) > 0;) out.append(buf, n);
    return true;
}

// A 10x MatrixMarket folder (matrix.mtx.gz genes x cells, features.tsv.gz),
// decompressed with the system gzip so that the tests need no zlib.
struct TenxMatrix {
    CsrMatrix cells_by_genes;
    std::vector<std::string> symbols;
};

inline bool read_tenx_mtx(const std::filesystem::path& dir, TenxMatrix& out, std::string& why) {
    std::string text;
    if (!run_and_read("gzip -dc '" + (dir / "matrix.mtx.gz").string() + "' 2>/dev/null", text) || text.empty()) {
        why = "could not decompress " + (dir / "matrix.mtx.gz").string() + " with gzip";
        return false;
    }
    const char* p = text.c_str();
    const auto skip_comments = [&] {
        while (*p == '%') {
            while (*p && *p != '\n') ++p;
            if (*p) ++p;
        }
    };
    skip_comments();
    char* end = nullptr;
    const long long n_genes = std::strtoll(p, &end, 10);
    const long long n_cells = std::strtoll(end, &end, 10);
    const long long nnz = std::strtoll(end, &end, 10);
    p = end;
    std::vector<std::int64_t> row_count(static_cast<std::size_t>(n_cells) + 1, 0);
    std::vector<std::int32_t> gi(static_cast<std::size_t>(nnz)), ci(static_cast<std::size_t>(nnz));
    std::vector<float> vv(static_cast<std::size_t>(nnz));
    for (long long k = 0; k < nnz; ++k) {
        gi[k] = static_cast<std::int32_t>(std::strtol(p, &end, 10) - 1);
        ci[k] = static_cast<std::int32_t>(std::strtol(end, &end, 10) - 1);
        vv[k] = std::strtof(end, &end);
        p = end;
        ++row_count[ci[k] + 1];
    }
    CsrMatrix& m = out.cells_by_genes;
    m.n_rows = n_cells;
    m.n_cols = n_genes;
    m.indptr.assign(row_count.begin(), row_count.end());
    for (std::size_t r = 1; r < m.indptr.size(); ++r) m.indptr[r] += m.indptr[r - 1];
    m.indices.resize(static_cast<std::size_t>(nnz));
    m.values.resize(static_cast<std::size_t>(nnz));
    auto next = m.indptr;
    // The file is sorted by cell, then gene, so each row comes out sorted.
    for (long long k = 0; k < nnz; ++k) {
        const auto dst = next[ci[k]]++;
        m.indices[dst] = gi[k];
        m.values[dst] = vv[k];
    }
    // Rows must be sorted by gene; MatrixMarket does not promise an order.
    std::vector<std::pair<std::int32_t, float>> row;
    for (std::int64_t r = 0; r < m.n_rows; ++r) {
        const auto lo = m.indptr[r], hi = m.indptr[r + 1];
        if (std::is_sorted(m.indices.begin() + lo, m.indices.begin() + hi)) continue;
        row.clear();
        for (auto k = lo; k < hi; ++k) row.emplace_back(m.indices[k], m.values[k]);
        std::sort(row.begin(), row.end());
        for (auto k = lo; k < hi; ++k) std::tie(m.indices[k], m.values[k]) = row[static_cast<std::size_t>(k - lo)];
    }
    if (!run_and_read("gzip -dc '" + (dir / "features.tsv.gz").string() + "' 2>/dev/null", text) || text.empty()) {
        why = "could not decompress features.tsv.gz";
        return false;
    }
    std::istringstream lines(text);
    out.symbols.clear();
    for (std::string line; std::getline(lines, line);) {
        const auto t1 = line.find('\t');
        const auto t2 = line.find('\t', t1 + 1);
        out.symbols.push_back(line.substr(t1 + 1, t2 - t1 - 1));
    }
    if (static_cast<long long>(out.symbols.size()) != n_genes) {
        why = "features.tsv.gz does not match matrix.mtx.gz";
        return false;
    }
    return true;
}

} // namespace scx::test

#include "scextract/io/tenx.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/text_lines.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <limits>
#include <numeric>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx {

std::vector<std::string> make_index_unique(std::vector<std::string> names, std::string_view join) {
    // Duplicates are decided on the original names, before any renaming.
    std::vector<char> is_dup(names.size(), 0);
    std::unordered_set<std::string> taken;
    taken.reserve(names.size() * 2);
    bool any = false;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (!taken.insert(names[i]).second) {
            is_dup[i] = 1;
            any = true;
        }
    }
    if (!any) return names;
    std::unordered_map<std::string, std::int64_t> counter;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (!is_dup[i]) continue;
        auto& n = counter[names[i]];
        for (;;) {
            std::string candidate = fmt::format("{}{}{}", names[i], join, ++n);
            if (taken.insert(candidate).second) {
                names[i] = std::move(candidate);
                break;
            }
        }
    }
    return names;
}

namespace {


bool is_blank(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t'; });
}

/// Splits on runs of spaces/tabs; stores up to N tokens and returns how many there were.
template <std::size_t N> std::size_t split_blanks(std::string_view line, std::array<std::string_view, N>& out) {
    std::size_t n = 0, i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        if (i == line.size()) break;
        const std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
        if (n < N) out[n] = line.substr(start, i - start);
        ++n;
    }
    return n;
}

bool parse_int(std::string_view s, std::int64_t& out) {
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size() && !s.empty();
}

bool parse_double(std::string_view s, double& out) {
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size() && !s.empty();
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

/// Shortens a bad line for an error message.
std::string excerpt(std::string_view line) {
    return line.size() <= 60 ? std::string(line) : fmt::format("{}...", line.substr(0, 60));
}

enum class MtxField { integer, real, pattern };

struct MtxHeader {
    MtxField field = MtxField::integer;
    std::int64_t n_rows = 0, n_cols = 0, nnz = 0;
};

/// Reads the banner and the size line, leaving @p lines at the first entry.
MtxHeader read_mtx_header(TextLines& lines) {
    const auto& path = lines.path();
    std::string_view line;
    if (!lines.next(line)) throw Error(fmt::format("{}: empty file, expected a MatrixMarket header", path));
    std::array<std::string_view, 6> tok{};
    const auto n = split_blanks(line, tok);
    if (n < 5 || lower(tok[0]) != "%%matrixmarket")
        throw Error(fmt::format("{}: line 1: expected a header like '%%MatrixMarket matrix coordinate integer general', found '{}'",
                                path, excerpt(line)));
    if (lower(tok[1]) != "matrix")
        throw Error(fmt::format("{}: line 1: MatrixMarket object '{}' is not 'matrix'", path, tok[1]));
    if (lower(tok[2]) != "coordinate")
        throw Error(fmt::format("{}: line 1: MatrixMarket format '{}' is not supported; 10x writes 'coordinate'", path, tok[2]));
    MtxHeader h;
    const auto field = lower(tok[3]);
    if (field == "integer") h.field = MtxField::integer;
    else if (field == "real" || field == "double") h.field = MtxField::real;
    else if (field == "pattern") h.field = MtxField::pattern;
    else throw Error(fmt::format("{}: line 1: MatrixMarket field '{}' is not supported (integer, real or pattern)", path, tok[3]));
    if (lower(tok[4]) != "general")
        throw Error(fmt::format("{}: line 1: MatrixMarket symmetry '{}' is not supported; a genes x cells matrix is 'general'",
                                path, tok[4]));

    while (lines.next(line)) {
        if (is_blank(line) || line.front() == '%') continue; // comments, e.g. Cell Ranger's %metadata_json
        std::array<std::string_view, 3> size{};
        if (split_blanks(line, size) != 3 || !parse_int(size[0], h.n_rows) || !parse_int(size[1], h.n_cols) ||
            !parse_int(size[2], h.nnz) || h.n_rows < 0 || h.n_cols < 0 || h.nnz < 0)
            throw Error(fmt::format("{}: line {}: expected 3 sizes (rows, columns, entries), found '{}'", path,
                                    lines.line_number(), excerpt(line)));
        return h;
    }
    throw Error(fmt::format("{}: the header has no size line (rows, columns, entries)", path));
}

/// The lines holding entry (row, col) (both 1-based), for reporting duplicates.
std::vector<std::int64_t> lines_of_entry(const std::string& path, std::int64_t row, std::int64_t col) {
    TextLines lines(path);
    read_mtx_header(lines);
    std::vector<std::int64_t> found;
    std::string_view line;
    std::array<std::string_view, 2> tok{};
    std::int64_t r = 0, c = 0;
    while (lines.next(line) && found.size() < 2) {
        if (split_blanks(line, tok) >= 2 && parse_int(tok[0], r) && parse_int(tok[1], c) && r == row && c == col)
            found.push_back(lines.line_number());
    }
    return found;
}

/// matrix.mtx as cells x genes CSR, with indices sorted within rows.
CsrMatrix read_mtx_transposed(const std::string& path, std::int64_t expected_genes, std::int64_t expected_cells,
                              const std::string& features_path, const std::string& barcodes_path) {
    TextLines lines(path);
    const MtxHeader h = read_mtx_header(lines);
    if (h.n_rows != expected_genes)
        throw Error(fmt::format("{}: the header declares {} rows (features) but {} lists {}", path, h.n_rows,
                                features_path, expected_genes));
    if (h.n_cols != expected_cells)
        throw Error(fmt::format("{}: the header declares {} columns (cells) but {} lists {}", path, h.n_cols,
                                barcodes_path, expected_cells));
    constexpr auto int32_max = std::numeric_limits<std::int32_t>::max();
    if (h.n_rows > int32_max || h.n_cols > int32_max)
        throw Error(fmt::format("{}: {} x {} is too large (at most {} genes and cells)", path, h.n_rows, h.n_cols, int32_max));
    if (h.n_rows > 0 && h.nnz / h.n_rows > h.n_cols)
        throw Error(fmt::format("{}: the header declares {} entries, more than {} x {}", path, h.nnz, h.n_rows, h.n_cols));

    // A corrupt header must not make us allocate terabytes up front.
    const auto reserve = static_cast<std::size_t>(std::min<std::int64_t>(h.nnz, std::int64_t{1} << 26));
    std::vector<std::int32_t> genes, cells;
    std::vector<float> values;
    genes.reserve(reserve);
    cells.reserve(reserve);
    values.reserve(reserve);

    const std::size_t want = h.field == MtxField::pattern ? 2 : 3;
    const char* what = h.field == MtxField::pattern ? "2 numbers (row, column)" : "3 numbers (row, column, value)";
    std::string_view line;
    std::array<std::string_view, 3> tok{};
    std::int64_t count = 0;
    while (lines.next(line)) {
        if (is_blank(line)) continue;
        if (line.front() == '%') continue;
        const auto n = split_blanks(line, tok);
        if (n != want)
            throw Error(fmt::format("{}: line {}: expected {}, found '{}'", path, lines.line_number(), what, excerpt(line)));
        std::int64_t r = 0, c = 0;
        if (!parse_int(tok[0], r) || !parse_int(tok[1], c))
            throw Error(fmt::format("{}: line {}: row and column must be integers, found '{}'", path, lines.line_number(),
                                    excerpt(line)));
        if (r < 1 || r > h.n_rows)
            throw Error(fmt::format("{}: line {}: row {} is outside [1, {}]", path, lines.line_number(), r, h.n_rows));
        if (c < 1 || c > h.n_cols)
            throw Error(fmt::format("{}: line {}: column {} is outside [1, {}]", path, lines.line_number(), c, h.n_cols));
        float v = 1.0F;
        if (h.field == MtxField::integer) {
            std::int64_t iv = 0;
            if (!parse_int(tok[2], iv))
                throw Error(fmt::format("{}: line {}: '{}' is not an integer (the header says 'integer')", path,
                                        lines.line_number(), tok[2]));
            v = static_cast<float>(iv);
        } else if (h.field == MtxField::real) {
            double dv = 0;
            if (!parse_double(tok[2], dv))
                throw Error(fmt::format("{}: line {}: '{}' is not a number", path, lines.line_number(), tok[2]));
            v = static_cast<float>(dv);
        }
        if (++count > h.nnz)
            throw Error(fmt::format("{}: line {}: more entries than the {} the header declares", path, lines.line_number(), h.nnz));
        genes.push_back(static_cast<std::int32_t>(r - 1));
        cells.push_back(static_cast<std::int32_t>(c - 1));
        values.push_back(v);
    }
    if (count != h.nnz)
        throw Error(fmt::format("{}: the header declares {} entries but the file has {}", path, h.nnz, count));

    // Counting sort by cell; entries keep their file order within a cell.
    CsrMatrix m;
    m.n_rows = h.n_cols;
    m.n_cols = h.n_rows;
    m.indptr.assign(static_cast<std::size_t>(m.n_rows) + 1, 0);
    for (auto c : cells) ++m.indptr[static_cast<std::size_t>(c) + 1];
    std::partial_sum(m.indptr.begin(), m.indptr.end(), m.indptr.begin());
    m.indices.resize(genes.size());
    m.values.resize(genes.size());
    {
        std::vector<std::int64_t> fill(m.indptr.begin(), m.indptr.end() - 1);
        for (std::size_t k = 0; k < genes.size(); ++k) {
            const auto at = static_cast<std::size_t>(fill[static_cast<std::size_t>(cells[k])]++);
            m.indices[at] = genes[k];
            m.values[at] = values[k];
        }
    }
    std::vector<std::int32_t>().swap(genes);
    std::vector<std::int32_t>().swap(cells);
    std::vector<float>().swap(values);

    if (const auto dup = sort_row_indices(m)) {
        const auto [r, gene] = *dup;
        const auto where = lines_of_entry(path, gene + 1, r + 1);
        throw Error(fmt::format("{}: entry (row {}, column {}) appears more than once{}", path, gene + 1, r + 1,
                                where.size() == 2 ? fmt::format(" (lines {} and {})", where[0], where[1]) : ""));
    }
    return m;
}

struct Features {
    std::vector<std::string> ids, names;
    std::optional<std::vector<std::string>> types;
};

/// Tab-separated fields of one line.
std::vector<std::string_view> split_tabs(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (;;) {
        const auto tab = line.find('\t', start);
        out.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
        if (tab == std::string_view::npos) return out;
        start = tab + 1;
    }
}

Features read_features(const std::string& path, bool legacy) {
    Features f;
    TextLines lines(path);
    std::string_view line;
    bool first = true;
    while (lines.next(line)) {
        if (line.empty()) continue; // pandas skips blank lines
        const auto fields = split_tabs(line);
        if (fields.size() < 2)
            throw Error(fmt::format("{}: line {}: expected at least 2 tab-separated columns (id, name), found '{}'", path,
                                    lines.line_number(), excerpt(line)));
        if (first && !legacy && fields.size() >= 3) f.types.emplace();
        first = false;
        if (f.types) {
            if (fields.size() < 3)
                throw Error(fmt::format("{}: line {}: expected 3 tab-separated columns (id, name, feature type) like "
                                        "the lines before, found '{}'",
                                        path, lines.line_number(), excerpt(line)));
            f.types->emplace_back(fields[2]);
        }
        f.ids.emplace_back(fields[0]);
        f.names.emplace_back(fields[1]);
    }
    return f;
}

std::vector<std::string> read_barcodes(const std::string& path) {
    std::vector<std::string> out;
    TextLines lines(path);
    std::string_view line;
    while (lines.next(line)) {
        if (line.empty()) continue;
        out.emplace_back(line.substr(0, line.find('\t')));
    }
    return out;
}

/// The first of @p names present in @p folder, or nullopt.
std::optional<std::filesystem::path> first_present(const std::filesystem::path& folder,
                                                   std::initializer_list<const char*> names) {
    std::error_code ec;
    for (const char* n : names)
        if (std::filesystem::is_regular_file(folder / n, ec)) return folder / n;
    return std::nullopt;
}

StringArray string_array(std::vector<std::string> v) {
    StringArray a;
    a.shape = {static_cast<std::int64_t>(v.size())};
    a.values = std::move(v);
    return a;
}

template <class T> std::vector<T> gather(const std::vector<T>& v, const std::vector<std::int64_t>& keep) {
    std::vector<T> out;
    out.reserve(keep.size());
    for (auto k : keep) out.push_back(v[static_cast<std::size_t>(k)]);
    return out;
}

} // namespace

Dataset read_10x_mtx(const std::string& folder, const DatasetReadOptions& options) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(folder, ec)) throw Error(fmt::format("{}: no such directory", folder));
    if (!fs::is_directory(folder, ec)) throw Error(fmt::format("{}: not a directory (a 10x MatrixMarket folder is expected)", folder));
    const fs::path dir(folder);
    const char* layout = "a 10x folder holds matrix.mtx[.gz], features.tsv[.gz] (or genes.tsv) and barcodes.tsv[.gz]";
    const auto matrix = first_present(dir, {"matrix.mtx.gz", "matrix.mtx"});
    if (!matrix) throw Error(fmt::format("{}: no matrix.mtx or matrix.mtx.gz ({})", folder, layout));
    auto features = first_present(dir, {"features.tsv.gz", "features.tsv"});
    const bool legacy = !features;
    if (legacy) features = first_present(dir, {"genes.tsv", "genes.tsv.gz"});
    if (!features) throw Error(fmt::format("{}: no features.tsv[.gz] or genes.tsv ({})", folder, layout));
    const auto barcodes = first_present(dir, {"barcodes.tsv.gz", "barcodes.tsv"});
    if (!barcodes) throw Error(fmt::format("{}: no barcodes.tsv or barcodes.tsv.gz ({})", folder, layout));

    Features feat = read_features(features->string(), legacy);
    std::vector<std::string> cells = read_barcodes(barcodes->string());
    CsrMatrix m = read_mtx_transposed(matrix->string(), static_cast<std::int64_t>(feat.ids.size()),
                                      static_cast<std::int64_t>(cells.size()), features->string(), barcodes->string());

    // scanpy makes the symbols unique over all features, before the feature-type filter.
    std::vector<std::string> var_names = make_index_unique(feat.names);
    if (options.gene_expression_only && feat.types) {
        std::vector<std::int64_t> keep;
        for (std::size_t j = 0; j < feat.types->size(); ++j)
            if ((*feat.types)[j] == "Gene Expression") keep.push_back(static_cast<std::int64_t>(j));
        if (keep.empty() && !feat.types->empty()) {
            auto kinds = *feat.types;
            std::sort(kinds.begin(), kinds.end());
            kinds.erase(std::unique(kinds.begin(), kinds.end()), kinds.end());
            throw Error(fmt::format("{}: no 'Gene Expression' features (types present: {}); read all features instead",
                                    features->string(), fmt::join(kinds, ", ")));
        }
        if (keep.size() != feat.types->size()) {
            m = select_columns(m, keep);
            var_names = gather(var_names, keep);
            feat.ids = gather(feat.ids, keep);
            *feat.types = gather(*feat.types, keep);
        }
    }

    Dataset d;
    d.matrix = std::move(m);
    d.obs_names = cells;
    d.obs.index = std::move(cells);
    d.var_names = var_names;
    d.var.index = std::move(var_names);
    d.var.columns.emplace_back("gene_ids", string_array(std::move(feat.ids)));
    if (feat.types) d.var.columns.emplace_back("feature_types", string_array(std::move(*feat.types)));
    d.format = "10x-mtx";
    d.matrix_source = matrix->filename().string();
    return d;
}

} // namespace scx

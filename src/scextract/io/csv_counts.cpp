#include "scextract/io/csv_counts.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/text_lines.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <deque>
#include <filesystem>
#include <limits>
#include <utility>

#include <fmt/format.h>

namespace scx {

namespace {


/// Splits delimited lines into fields. A field may be double-quoted (as R's
/// write.csv and pandas write them): the separator is then literal and "" is a quote.
class FieldSplitter {
public:
    FieldSplitter(std::string path, char sep) : path_(std::move(path)), sep_(sep) {}

    /// Fields of @p line; views into the line (or into this object for unescaped quotes).
    const std::vector<std::string_view>& split(std::string_view line, std::int64_t line_no) {
        fields_.clear();
        unescaped_.clear();
        std::size_t i = 0;
        for (;;) {
            std::string_view field;
            if (i < line.size() && line[i] == '"') {
                const std::size_t open = i;
                bool escaped = false;
                std::size_t j = i + 1;
                for (;;) {
                    const auto q = line.find('"', j);
                    if (q == std::string_view::npos)
                        throw Error(fmt::format("{}: line {}, column {}: quote is not closed on this line", path_, line_no,
                                                fields_.size() + 1));
                    if (q + 1 < line.size() && line[q + 1] == '"') {
                        escaped = true;
                        j = q + 2;
                        continue;
                    }
                    field = line.substr(open + 1, q - open - 1);
                    i = q + 1;
                    break;
                }
                if (escaped) {
                    std::string s;
                    for (std::size_t k = 0; k < field.size(); ++k) {
                        s += field[k];
                        if (field[k] == '"') ++k; // "" -> "
                    }
                    field = unescaped_.emplace_back(std::move(s));
                }
                if (i < line.size() && line[i] != sep_)
                    throw Error(fmt::format("{}: line {}, column {}: text after the closing quote", path_, line_no,
                                            fields_.size() + 1));
            } else {
                const auto s = line.find(sep_, i);
                field = line.substr(i, s == std::string_view::npos ? std::string_view::npos : s - i);
                i = s == std::string_view::npos ? line.size() : s;
            }
            fields_.push_back(field);
            if (i >= line.size()) break;
            ++i; // the separator; a trailing one leaves an empty last field
        }
        return fields_;
    }

private:
    std::string path_;
    char sep_;
    std::vector<std::string_view> fields_;
    std::deque<std::string> unescaped_; // deque: views into earlier strings stay valid
};

bool parse_number(std::string_view s, double& out) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    if (s.empty()) return false;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size();
}

std::string excerpt(std::string_view s) {
    return s.size() <= 40 ? std::string(s) : fmt::format("{}...", s.substr(0, 40));
}

/// ',' for .csv[.gz], tab for .tsv[.gz].
char separator_for(const std::string& path) {
    std::string name = std::filesystem::path(path).filename().string();
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (name.ends_with(".gz")) name.resize(name.size() - 3);
    if (name.ends_with(".csv")) return ',';
    if (name.ends_with(".tsv")) return '\t';
    throw Error(fmt::format("{}: cannot tell the separator; name the file .csv, .tsv, .csv.gz or .tsv.gz", path));
}

} // namespace

Dataset read_csv_counts(const std::string& path, const DatasetReadOptions& /*options*/) {
    const char sep = separator_for(path);
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw Error(fmt::format("{}: no such file", path));
    if (std::filesystem::is_directory(path, ec)) throw Error(fmt::format("{}: is a directory, not a table", path));
    TextLines lines(path);
    FieldSplitter splitter(path, sep);

    std::string_view line;
    bool have_header = false;
    std::int64_t header_line = 0;
    while (lines.next(line)) {
        if (line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3); // byte-order mark from spreadsheet exports
        if (line.empty()) continue;
        have_header = true;
        header_line = lines.line_number();
        break;
    }
    if (!have_header) throw Error(fmt::format("{}: empty file, expected a header row of gene names", path));
    std::vector<std::string> header;
    for (auto f : splitter.split(line, header_line)) header.emplace_back(f);
    if (header.size() < 2) {
        // one field: the file is separated by something else (a semicolon from a European
        // spreadsheet, a tab in a .csv); reading on would give cells with no genes
        std::string other;
        for (const char c : {';', '\t', ',', '|', ' '})
            if (c != sep && line.find(c) != std::string_view::npos) {
                other = c == '\t' ? "tab" : c == ' ' ? "space" : std::string(1, c);
                break;
            }
        throw Error(fmt::format("{}: line {}: the header has one field when read as {}-separated{}; expected a cell-name "
                                "column and one column per gene",
                                path, header_line, sep == '\t' ? "tab" : ",",
                                other.empty() ? "" : fmt::format(" (it looks {}-separated: save it with the file's "
                                                                 "extension's separator, .csv comma or .tsv tab)",
                                                                 other)));
    }

    Dataset d;
    CsrMatrix& m = d.matrix;
    std::vector<std::string> genes;
    std::vector<std::string> cells;
    std::size_t n_fields = 0; // fields per data row, fixed by the first one
    while (lines.next(line)) {
        if (line.empty()) continue;
        const auto line_no = lines.line_number();
        const auto& fields = splitter.split(line, line_no);
        if (n_fields == 0) {
            // R's write.table leaves out the corner cell, so the header may be one field short.
            if (fields.size() == header.size()) genes.assign(header.begin() + 1, header.end());
            else if (fields.size() == header.size() + 1) genes = header;
            else
                throw Error(fmt::format("{}: line {}: {} fields, but the header (line {}) has {}; expected one cell name "
                                        "and one number per gene",
                                        path, line_no, fields.size(), header_line, header.size()));
            if (genes.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
                throw Error(fmt::format("{}: {} genes is too many", path, genes.size()));
            n_fields = genes.size() + 1;
        }
        if (fields.size() != n_fields)
            throw Error(fmt::format("{}: line {}: {} fields, expected {} (a cell name and {} numbers)", path, line_no,
                                    fields.size(), n_fields, n_fields - 1));
        cells.emplace_back(fields[0]);
        for (std::size_t j = 1; j < n_fields; ++j) {
            double v = 0;
            if (!parse_number(fields[j], v))
                throw Error(fmt::format("{}: line {}, column {}: '{}' is not a number (gene '{}')", path, line_no, j + 1,
                                        excerpt(fields[j]), genes[j - 1]));
            if (!std::isfinite(v))
                throw Error(fmt::format("{}: line {}, column {}: '{}' is not a finite count (gene '{}')", path, line_no,
                                        j + 1, excerpt(fields[j]), genes[j - 1]));
            if (v == 0) continue;
            m.indices.push_back(static_cast<std::int32_t>(j - 1));
            m.values.push_back(static_cast<float>(v));
        }
        m.indptr.push_back(m.nnz());
    }
    if (n_fields == 0) genes.assign(header.begin() + (header.empty() ? 0 : 1), header.end()); // header only: no cells

    m.n_rows = static_cast<std::int64_t>(cells.size());
    m.n_cols = static_cast<std::int64_t>(genes.size());
    d.obs_names = cells;
    d.obs.index = std::move(cells);
    d.var_names = genes;
    d.var.index = std::move(genes);
    d.format = "csv";
    d.matrix_source = std::filesystem::path(path).filename().string();
    return d;
}

} // namespace scx

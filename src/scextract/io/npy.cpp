#include "scextract/io/npy.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/little_endian.hpp"
#include "scextract/io/atomic_file.hpp"

#include <bit>
#include <cctype>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>

#include <fmt/format.h>

namespace scx {

static_assert(std::endian::native == std::endian::little, "the .npy reader assumes a little-endian host");

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;
constexpr std::size_t kAlign = 64; // numpy.lib.format.ARRAY_ALIGN

/// The three entries every .npy header dictionary has.
struct NpyHeader {
    std::string descr;
    bool fortran_order = false;
    std::vector<std::int64_t> shape;
};

/// A reader for the Python literal numpy writes as the header:
/// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
class HeaderParser {
public:
    HeaderParser(std::string_view text, const std::string& what) : s_(text), what_(what) {}

    NpyHeader parse() {
        NpyHeader h;
        bool have_descr = false, have_order = false, have_shape = false;
        expect('{');
        while (true) {
            skip_space();
            if (peek() == '}') {
                ++pos_;
                break;
            }
            const std::string key = parse_string();
            expect(':');
            skip_space();
            if (key == "descr") {
                if (peek() == '[') fail("structured dtypes (a list 'descr') are not supported");
                h.descr = parse_string();
                have_descr = true;
            } else if (key == "fortran_order") {
                h.fortran_order = parse_bool();
                have_order = true;
            } else if (key == "shape") {
                h.shape = parse_shape();
                have_shape = true;
            } else {
                fail(fmt::format("unexpected key '{}' (expected descr, fortran_order and shape)", key));
            }
            skip_space();
            if (peek() == ',') {
                ++pos_;
            } else if (peek() != '}') {
                fail("expected ',' or '}' after a value");
            }
        }
        skip_space();
        if (pos_ != s_.size()) fail("unexpected text after the closing '}'");
        if (!have_descr || !have_order || !have_shape) {
            std::string missing;
            if (!have_descr) missing += " descr";
            if (!have_order) missing += " fortran_order";
            if (!have_shape) missing += " shape";
            fail(fmt::format("missing key(s):{}", missing));
        }
        return h;
    }

private:
    [[noreturn]] void fail(const std::string& msg) const {
        throw Error(fmt::format("{}: malformed .npy header: {} (header: {})", what_, msg, printable()));
    }

    std::string printable() const {
        std::string out;
        for (char c : s_.substr(0, 200)) out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
        return out;
    }

    char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }

    void skip_space() {
        while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }

    void expect(char c) {
        skip_space();
        if (peek() != c) fail(fmt::format("expected '{}'", c));
        ++pos_;
    }

    std::string parse_string() {
        skip_space();
        const char quote = peek();
        if (quote != '\'' && quote != '"') fail("expected a quoted string");
        const auto end = s_.find(quote, pos_ + 1);
        if (end == std::string_view::npos) fail("unterminated string");
        std::string out(s_.substr(pos_ + 1, end - pos_ - 1));
        pos_ = end + 1;
        return out;
    }

    bool parse_bool() {
        if (s_.substr(pos_, 4) == "True") {
            pos_ += 4;
            return true;
        }
        if (s_.substr(pos_, 5) == "False") {
            pos_ += 5;
            return false;
        }
        fail("fortran_order is neither True nor False");
    }

    std::vector<std::int64_t> parse_shape() {
        if (peek() != '(') fail("shape is not a tuple");
        ++pos_;
        std::vector<std::int64_t> shape;
        while (true) {
            skip_space();
            if (peek() == ')') {
                ++pos_;
                return shape;
            }
            if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("shape entries must be non-negative integers");
            std::int64_t v = 0;
            while (std::isdigit(static_cast<unsigned char>(peek()))) {
                const int digit = peek() - '0';
                if (v > (std::numeric_limits<std::int64_t>::max() - digit) / 10) fail("a shape entry is too large");
                v = v * 10 + digit;
                ++pos_;
            }
            if (peek() == 'L') ++pos_; // Python 2 longs in old files
            shape.push_back(v);
            skip_space();
            if (peek() == ',') {
                ++pos_;
            } else if (peek() != ')') {
                fail("expected ',' or ')' in shape");
            }
        }
    }

    std::string_view s_;
    const std::string& what_;
    std::size_t pos_ = 0;
};

NpyDType dtype_from_descr(const std::string& descr, const std::string& what) {
    if (!descr.empty() && descr[0] == '>')
        throw Error(fmt::format("{}: big-endian data ('{}') is not supported; save it little-endian", what, descr));
    if (descr == "<f4") return NpyDType::float32;
    if (descr == "<f8") return NpyDType::float64;
    if (descr == "<i4") return NpyDType::int32;
    if (descr == "<i8") return NpyDType::int64;
    throw Error(fmt::format("{}: dtype '{}' is not supported (expected float32 '<f4', float64 '<f8', int32 '<i4' or "
                            "int64 '<i8')",
                            what, descr));
}

template <class T>
T element(const std::byte* data, std::int64_t i) {
    T v;
    std::memcpy(&v, data + static_cast<std::size_t>(i) * sizeof(T), sizeof(T));
    return v;
}

template <class Out>
std::vector<Out> convert(const NpyArray& a) {
    const std::int64_t n = a.numel();
    std::vector<Out> out(static_cast<std::size_t>(n));
    const std::byte* p = a.data.data();
    switch (a.dtype) {
    case NpyDType::float32:
        for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<Out>(element<float>(p, i));
        break;
    case NpyDType::float64:
        for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<Out>(element<double>(p, i));
        break;
    case NpyDType::int32:
        for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<Out>(element<std::int32_t>(p, i));
        break;
    case NpyDType::int64:
        for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<Out>(element<std::int64_t>(p, i));
        break;
    }
    return out;
}

std::string shape_text(std::span<const std::int64_t> shape) {
    if (shape.empty()) return "()";
    std::string out = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i > 0) out.append(", ");
        out.append(std::to_string(shape[i]));
    }
    out.append(shape.size() == 1 ? ",)" : ")"); // Python's 1-tuple
    return out;
}

/// Checked product of the shape; throws naming @p what on negative entries or overflow.
std::int64_t checked_numel(std::span<const std::int64_t> shape, std::size_t item, const std::string& what) {
    std::int64_t n = 1;
    for (auto s : shape) {
        if (s < 0) throw Error(fmt::format("{}: negative dimension in shape {}", what, shape_text(shape)));
        if (s != 0 && n > std::numeric_limits<std::int64_t>::max() / static_cast<std::int64_t>(item) / s)
            throw Error(fmt::format("{}: shape {} is too large", what, shape_text(shape)));
        n *= s;
    }
    return n;
}

void write_npy_raw(const std::filesystem::path& path, const char* descr, const void* data, std::size_t item,
                   std::span<const std::int64_t> shape) {
    const std::string what = path.string();
    const std::int64_t n = checked_numel(shape, item, what);
    if (n > 0 && data == nullptr) throw Error(fmt::format("{}: no data to write", what));
    std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr, shape_text(shape));
    // magic (6) + version (2) + length (2) + header + '\n' is padded with spaces to a multiple of 64.
    const std::size_t unpadded = kMagicSize + 2 + 2 + header.size() + 1;
    header.append((kAlign - unpadded % kAlign) % kAlign, ' ');
    header.push_back('\n');
    if (header.size() > std::numeric_limits<std::uint16_t>::max())
        throw Error(fmt::format("{}: shape {} needs a header too long for .npy version 1.0", what, shape_text(shape)));

    AtomicOutput out(path);
    {
        std::ofstream f(out.temp_path(), std::ios::binary | std::ios::trunc);
        if (!f) throw Error(fmt::format("{}: cannot open {} for writing", what, out.temp_path().string()));
        const auto len = static_cast<std::uint16_t>(header.size());
        const char prefix[10] = {kMagic[0], kMagic[1], kMagic[2], kMagic[3], kMagic[4], kMagic[5], 1, 0,
                                 static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
        f.write(prefix, sizeof prefix);
        f.write(header.data(), static_cast<std::streamsize>(header.size()));
        if (n > 0) f.write(static_cast<const char*>(data), static_cast<std::streamsize>(static_cast<std::size_t>(n) * item));
        f.close();
        if (!f) throw Error(fmt::format("{}: write failed (disk full?)", what));
    }
    out.commit();
}

} // namespace

const char* npy_dtype_name(NpyDType t) {
    switch (t) {
    case NpyDType::float32: return "float32";
    case NpyDType::float64: return "float64";
    case NpyDType::int32: return "int32";
    case NpyDType::int64: return "int64";
    }
    return "?";
}

std::size_t npy_dtype_size(NpyDType t) {
    switch (t) {
    case NpyDType::float32:
    case NpyDType::int32: return 4;
    case NpyDType::float64:
    case NpyDType::int64: return 8;
    }
    return 0;
}

std::int64_t NpyArray::numel() const {
    std::int64_t n = 1;
    for (auto s : shape) n *= s;
    return n;
}

std::vector<float> NpyArray::to_float() const { return convert<float>(*this); }

std::vector<double> NpyArray::to_double() const { return convert<double>(*this); }

std::vector<std::int64_t> NpyArray::to_int64() const {
    if (dtype != NpyDType::int32 && dtype != NpyDType::int64)
        throw Error(fmt::format("{}: expected an integer array, found {}", source, npy_dtype_name(dtype)));
    return convert<std::int64_t>(*this);
}

RowMatrixF NpyArray::to_matrix() const {
    if (shape.size() != 2)
        throw Error(fmt::format("{}: expected a 2-D array, found shape {}", source, shape_text(shape)));
    const auto values = to_float();
    RowMatrixF m(shape[0], shape[1]);
    if (!values.empty()) std::memcpy(m.data(), values.data(), values.size() * sizeof(float));
    return m;
}

NpyArray parse_npy(std::span<const std::byte> bytes, const std::string& what) {
    if (bytes.size() < kMagicSize + 4 || std::memcmp(bytes.data(), kMagic, kMagicSize) != 0)
        throw Error(fmt::format("{}: not a .npy file (no \\x93NUMPY magic)", what));
    const auto major = static_cast<unsigned>(bytes[6]);
    const auto minor = static_cast<unsigned>(bytes[7]);
    std::size_t len_size = 0;
    if (major == 1) {
        len_size = 2;
    } else if (major == 2 || major == 3) {
        len_size = 4;
    } else {
        throw Error(fmt::format("{}: .npy format version {}.{} is not supported (1.0, 2.0, 3.0 are)", what, major, minor));
    }
    const std::size_t prefix = kMagicSize + 2 + len_size;
    if (bytes.size() < prefix) throw Error(fmt::format("{}: truncated .npy header", what));
    const std::size_t header_len = static_cast<std::size_t>(load_le(bytes.data() + kMagicSize + 2, len_size));
    if (header_len > bytes.size() - prefix)
        throw Error(fmt::format("{}: truncated .npy header (says {} bytes, file has {} after the prefix)", what,
                                header_len, bytes.size() - prefix));
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()) + prefix, header_len);
    const NpyHeader h = HeaderParser(text, what).parse();
    if (h.fortran_order)
        throw Error(fmt::format("{}: Fortran-order arrays are not supported; save with np.ascontiguousarray", what));

    NpyArray a;
    a.source = what;
    a.dtype = dtype_from_descr(h.descr, what);
    a.shape = h.shape;
    const std::size_t item = npy_dtype_size(a.dtype);
    const std::int64_t n = checked_numel(a.shape, item, what);
    const std::size_t want = static_cast<std::size_t>(n) * item;
    const std::size_t have = bytes.size() - prefix - header_len;
    if (have != want)
        throw Error(fmt::format("{}: {} data for shape {} {} needs {} bytes but the file has {}", what,
                                have < want ? "truncated:" : "size mismatch:", shape_text(a.shape),
                                npy_dtype_name(a.dtype), want, have));
    const auto* start = bytes.data() + prefix + header_len;
    a.data.assign(start, start + want);
    return a;
}

NpyArray read_npy(const std::filesystem::path& path) {
    const std::string what = path.string();
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) throw Error(fmt::format("{}: cannot open .npy file", what));
    const std::streamoff size = in.tellg();
    if (size < 0) throw Error(fmt::format("{}: cannot determine the file size", what));
    std::vector<std::byte> bytes(static_cast<std::size_t>(size));
    in.seekg(0);
    if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
        throw Error(fmt::format("{}: read failed", what));
    return parse_npy(bytes, what);
}

void write_npy(const std::filesystem::path& path, const float* data, std::span<const std::int64_t> shape) {
    write_npy_raw(path, "<f4", data, sizeof(float), shape);
}

void write_npy(const std::filesystem::path& path, const std::int64_t* data, std::span<const std::int64_t> shape) {
    write_npy_raw(path, "<i8", data, sizeof(std::int64_t), shape);
}

void write_npy(const std::filesystem::path& path, const RowMatrixF& matrix) {
    const std::int64_t shape[2] = {matrix.rows(), matrix.cols()};
    write_npy_raw(path, "<f4", matrix.data(), sizeof(float), shape);
}

} // namespace scx

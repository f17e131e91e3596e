#include <algorithm>
#include "scextract/core/tensor.hpp"

#include "scextract/core/error.hpp"

#include <bit>
#include <cstring>

#include <fmt/format.h>

namespace scx {

const char* tensor_dtype_name(TensorDType t) {
    switch (t) {
    case TensorDType::float32: return "float32";
    case TensorDType::float16: return "float16";
    case TensorDType::bfloat16: return "bfloat16";
    case TensorDType::float64: return "float64";
    case TensorDType::int64: return "int64";
    case TensorDType::int32: return "int32";
    case TensorDType::int16: return "int16";
    case TensorDType::int8: return "int8";
    case TensorDType::uint8: return "uint8";
    case TensorDType::bool_: return "bool";
    }
    return "?";
}

std::size_t tensor_dtype_size(TensorDType t) {
    switch (t) {
    case TensorDType::float64:
    case TensorDType::int64: return 8;
    case TensorDType::float32:
    case TensorDType::int32: return 4;
    case TensorDType::float16:
    case TensorDType::bfloat16:
    case TensorDType::int16: return 2;
    case TensorDType::int8:
    case TensorDType::uint8:
    case TensorDType::bool_: return 1;
    }
    return 0;
}

bool tensor_dtype_is_float(TensorDType t) {
    return t == TensorDType::float32 || t == TensorDType::float16 || t == TensorDType::bfloat16 || t == TensorDType::float64;
}

namespace {
std::vector<std::int64_t> contiguous_strides(const std::vector<std::int64_t>& shape) {
    std::vector<std::int64_t> st(shape.size(), 1);
    for (std::size_t i = shape.size(); i-- > 1;) st[i - 1] = st[i] * shape[i];
    return st;
}
} // namespace

std::int64_t Tensor::numel() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
}

namespace {
float half_to_float(std::uint16_t h) {
    const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
    std::uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    std::uint32_t bits;
    if (exp == 0) {
        if (mant == 0) bits = sign;
        else { // subnormal: normalise
            exp = 127 - 15 + 1;
            while (!(mant & 0x400u)) {
                mant <<= 1;
                --exp;
            }
            bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    return std::bit_cast<float>(bits);
}
} // namespace

std::vector<float> Tensor::to_float(const std::string& what) const {
    std::vector<float> out(static_cast<std::size_t>(std::max<std::int64_t>(numel(), 0)));
    to_float_into(out.data(), what);
    return out;
}

void Tensor::to_float_into(float* out, const std::string& what) const {
    if (!tensor_dtype_is_float(dtype))
        throw Error(fmt::format("{}: expected a floating-point tensor, found {}", what, tensor_dtype_name(dtype)));
    if (!storage) throw Error(fmt::format("{}: tensor has no storage", what));
    const auto n = numel();
    const auto rank = shape.size();
    std::vector<std::int64_t> st = strides;
    if (st.empty()) st = contiguous_strides(shape);
    if (st.size() != rank) throw Error(fmt::format("{}: {} strides for {} dimensions", what, st.size(), rank));
    const auto esize = static_cast<std::int64_t>(tensor_dtype_size(dtype));
    const auto capacity = static_cast<std::int64_t>(storage->size()) / esize;
    // the furthest element the view touches must lie inside the storage
    std::int64_t lo = storage_offset, hi = storage_offset;
    for (std::size_t i = 0; i < rank; ++i) {
        if (shape[i] < 0) throw Error(fmt::format("{}: negative dimension", what));
        if (shape[i] == 0) return;
        const auto span = (shape[i] - 1) * st[i];
        (span < 0 ? lo : hi) += span;
    }
    if (lo < 0 || hi >= capacity)
        throw Error(fmt::format("{}: view [{}, {}] reaches outside its storage of {} elements", what, lo, hi, capacity));
    const auto* base = storage->data();
    if (dtype == TensorDType::float32 && hi - lo + 1 == n && (strides.empty() || st == contiguous_strides(shape))) {
        std::memcpy(out, base + storage_offset * esize, static_cast<std::size_t>(n) * sizeof(float));
        return;
    }
    std::vector<std::int64_t> index(rank, 0);
    for (std::int64_t k = 0; k < n; ++k) {
        std::int64_t e = storage_offset;
        for (std::size_t i = 0; i < rank; ++i) e += index[i] * st[i];
        const auto* p = base + e * esize;
        switch (dtype) {
        case TensorDType::float32: std::memcpy(&out[k], p, 4); break;
        case TensorDType::float64: {
            double d;
            std::memcpy(&d, p, 8);
            out[k] = static_cast<float>(d);
            break;
        }
        case TensorDType::float16: {
            std::uint16_t h;
            std::memcpy(&h, p, 2);
            out[k] = half_to_float(h);
            break;
        }
        case TensorDType::bfloat16: {
            std::uint16_t h;
            std::memcpy(&h, p, 2);
            out[k] = std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16);
            break;
        }
        default: break;
        }
        for (std::size_t i = rank; i-- > 0;) { // odometer increment
            if (++index[i] < shape[i]) break;
            index[i] = 0;
        }
    }
}

} // namespace scx

#include "scextract/io/lzf_filter.hpp"

#include <hdf5.h>
#include <liblzf/lzf.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <string>

#include <fmt/format.h>

namespace scx::h5 {

namespace {

// Puts our own reason on HDF5's error stack, so the one-line message names it.
void pipeline_error(const std::string& why) {
    H5Epush2(H5E_DEFAULT, __FILE__, "lzf_decode", __LINE__, H5E_ERR_CLS, H5E_PLINE, H5E_READERROR, "%s", why.c_str());
}

// HDF5 filter callback. h5py (and PyTables) store the uncompressed chunk size in
// cd_values[2]; a chunk must decode to exactly that many bytes, since HDF5 hands the
// buffer on as a whole chunk and a short one would leave uninitialised heap in the data.
// Without a declared size we grow the output buffer until the chunk fits, zero-filled.
std::size_t lzf_decode(unsigned flags, std::size_t cd_nelmts, const unsigned cd_values[], std::size_t nbytes,
                       std::size_t* buf_size, void** buf) {
    if (!(flags & H5Z_FLAG_REVERSE)) return 0; // decoding only: we never write LZF
    const bool declared = cd_nelmts >= 3 && cd_values[2] != 0;
    std::size_t out_size = declared ? cd_values[2] : std::max<std::size_t>(*buf_size * 4, 64);
    for (int attempt = 0; attempt < 8; ++attempt) {
        void* out = std::calloc(out_size, 1);
        if (!out) return 0;
        const unsigned n = lzf_decompress(*buf, static_cast<unsigned>(nbytes), out, static_cast<unsigned>(out_size));
        if (n != 0 && (!declared || n == out_size)) {
            std::free(*buf);
            *buf = out;
            *buf_size = out_size;
            return n;
        }
        const int why = errno;
        std::free(out);
        if (n != 0) {
            pipeline_error(fmt::format("LZF chunk decodes to {} bytes but the chunk holds {} (damaged file?)", n, out_size));
            return 0;
        }
        if (declared || why != E2BIG) {
            pipeline_error(fmt::format("LZF chunk of {} bytes does not decode (damaged file?)", nbytes));
            return 0;
        }
        out_size *= 2;
    }
    return 0;
}

} // namespace

void register_lzf_filter() {
    static std::mutex mutex;
    const std::lock_guard lock(mutex);
    if (H5Zfilter_avail(lzf_filter_id) > 0) return;
    static const H5Z_class2_t lzf_class = {
        H5Z_CLASS_T_VERS,
        static_cast<H5Z_filter_t>(lzf_filter_id),
        0, // encoder_present
        1, // decoder_present
        "lzf (decode via liblzf)",
        nullptr,
        nullptr,
        lzf_decode,
    };
    H5Zregister(&lzf_class);
}

} // namespace scx::h5

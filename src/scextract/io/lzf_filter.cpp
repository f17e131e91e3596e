#include "scextract/io/lzf_filter.hpp"

#include <hdf5.h>
#include <liblzf/lzf.h>

#include <cerrno>
#include <cstdlib>
#include <mutex>

namespace scx::h5 {

namespace {

// HDF5 filter callback. h5py stores the uncompressed chunk size in cd_values[2];
// when absent we grow the output buffer until the chunk fits.
std::size_t lzf_decode(unsigned flags, std::size_t cd_nelmts, const unsigned cd_values[], std::size_t nbytes,
                       std::size_t* buf_size, void** buf) {
    if (!(flags & H5Z_FLAG_REVERSE)) return 0; // decoding only: we never write LZF
    const bool size_known = cd_nelmts >= 3 && cd_values[2] != 0;
    std::size_t out_size = size_known ? cd_values[2] : *buf_size * 4;
    for (int attempt = 0; attempt < 8; ++attempt) {
        void* out = std::malloc(out_size);
        if (!out) return 0;
        const unsigned n = lzf_decompress(*buf, static_cast<unsigned>(nbytes), out, static_cast<unsigned>(out_size));
        if (n != 0 && size_known && n != out_size) {
            // a chunk decoding short would leave the rest of HDF5's chunk buffer uninitialised
            std::free(out);
            return 0;
        }
        if (n != 0) {
            std::free(*buf);
            *buf = out;
            *buf_size = out_size;
            return n;
        }
        std::free(out);
        if (errno != E2BIG) return 0;
        out_size *= 2;
    }
    return 0;
}

} // namespace

void register_lzf_filter() {
    static std::once_flag once;
    std::call_once(once, [] {
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
    });
}

} // namespace scx::h5

#include "scextract/io/zip_error.hpp"

#include <zip.h>

namespace scx {

std::string zip_error_text(int code) {
    zip_error_t e;
    zip_error_init_with_code(&e, code);
    std::string s = zip_error_strerror(&e);
    zip_error_fini(&e);
    return s;
}

} // namespace scx

#include "scextract/version.hpp"

namespace scx {

const char* version() { return SCX_VERSION; }

} // namespace scx

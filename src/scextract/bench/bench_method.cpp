#include "scextract/bench/bench_method.hpp"

namespace scx {

const char* to_string(PseudotimeClass c) {
    switch (c) {
    case PseudotimeClass::none: return "none";
    case PseudotimeClass::supervised: return "supervised";
    case PseudotimeClass::unsupervised: return "unsupervised";
    }
    return "?";
}

} // namespace scx

#pragma once
/// @file scextract.hpp
/// @brief scextract's public C++ API in one include. Each header is one front-end verb with
/// an Options struct, a Result struct and a free function; the CLI and the Python package
/// call nothing else.

#include "scextract/apply.hpp"
#include "scextract/bench.hpp"
#include "scextract/embed.hpp"
#include "scextract/export.hpp"
#include "scextract/fit.hpp"
#include "scextract/inspect.hpp"
#include "scextract/interpret.hpp"
#include "scextract/lr_ruler.hpp"
#include "scextract/perturb.hpp"
#include "scextract/pseudotime.hpp"
#include "scextract/validate.hpp"
#include "scextract/version.hpp"

// The folders of src/scextract form one chain (core -> io -> ... -> bench -> interpret -> report -> api -> cli):
// a file may include its own folder or one below it, never one above. This test reads
// every source file, so a new include that runs up the chain fails the default suite.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kChain = {
    "core",  "io",        "preprocess", "model",    "simulate", "extract", "adapt", "readout",
    "stats", "baselines", "validate",   "bench",    "interpret", "report",   "api",     "cli"};

int level_of(const std::string& folder) {
    const auto it = std::find(kChain.begin(), kChain.end(), folder);
    return it == kChain.end() ? -1 : static_cast<int>(it - kChain.begin());
}

struct UpwardInclude {
    std::string file, included;
};

std::vector<UpwardInclude> upward_includes(const fs::path& root) {
    // "scextract/<folder>/x.hpp" is internal; "scextract/x.hpp" (no folder) is the public API.
    static const std::regex include_line(R"re(^\s*#\s*include\s*[<"]scextract/([a-z_]+)(/[^">]*)?[">])re");
    std::vector<UpwardInclude> found;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        const auto ext = entry.path().extension();
        if (!entry.is_regular_file() || (ext != ".hpp" && ext != ".cpp")) continue;
        const std::string folder = fs::relative(entry.path(), root).begin()->string();
        const int own = level_of(folder);
        EXPECT_GE(own, 0) << entry.path() << " lies in a folder missing from the chain";
        std::ifstream in(entry.path());
        std::string line;
        std::smatch m;
        while (std::getline(in, line)) {
            if (!std::regex_search(line, m, include_line)) continue;
            const std::string target = m[2].matched ? m[1].str() : std::string("api");
            if (level_of(target) > own) found.push_back({entry.path().string(), line});
        }
    }
    return found;
}

}  // namespace

TEST(IncludeChain, NoFolderIncludesOneAboveIt) {
    const fs::path root = fs::path(SCX_SOURCE_DIR) / "src" / "scextract";
    ASSERT_TRUE(fs::is_directory(root)) << root;
    const auto found = upward_includes(root);
    for (const auto& u : found) ADD_FAILURE() << u.file << ": " << u.included;
    EXPECT_TRUE(found.empty());
}

TEST(IncludeChain, EveryChainFolderExistsSoTheOrderIsNotStale) {
    const fs::path root = fs::path(SCX_SOURCE_DIR) / "src" / "scextract";
    for (const auto& folder : kChain) EXPECT_TRUE(fs::is_directory(root / folder)) << folder;
}

TEST(IncludeChain, DetectsAnUpwardInclude) {
    // The check itself must be able to fail: plant a core/ file that includes bench/.
    const fs::path root = fs::temp_directory_path() / "scx_include_chain_probe";
    fs::remove_all(root);
    fs::create_directories(root / "core");
    std::ofstream(root / "core" / "probe.hpp") << "#include \"scextract/bench/bench_runner.hpp\"\n"
                                                << "#include \"scextract/core/dense.hpp\"\n";
    const auto found = upward_includes(root);
    fs::remove_all(root);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_NE(found[0].included.find("bench/bench_runner.hpp"), std::string::npos);
}

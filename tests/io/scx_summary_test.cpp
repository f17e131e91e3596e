// `inspect` of scextract's own files: a container is recognised by its magic bytes, its
// summary names the kind, panel and arrays, and a damaged file is refused naming it.

#include "scextract/core/error.hpp"
#include "scextract/io/scx_container.hpp"
#include "scextract/io/scx_summary.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

TEST(ScxSummary, DescribesAnOperatorContainerAndRefusesADamagedOne) {
    const auto dir = std::filesystem::temp_directory_path() / "scx_summary_test";
    std::filesystem::create_directories(dir);
    const auto path = (dir / "ops.scxop").string();
    const std::vector<float> op(2 * 3 * 3, 0.5f);
    nlohmann::ordered_json meta = {{"n_layers", 1},
                                   {"n_heads", 2},
                                   {"n_genes", 3},
                                   {"orientation", "xA"},
                                   {"genes", {"CD3E", "CD4", "CD8A"}},
                                   {"provenance", {{"mode", "atlas"}}}};
    scx::write_scx_container(path, "operator", meta, {scx::ContainerArrayView::f32("operators", {1, 2, 3, 3}, op)});
    EXPECT_TRUE(scx::is_scx_file(path));
    EXPECT_FALSE(scx::is_scx_file(dir.string()));
    const auto s = scx::summarize_scx_file(path);
    EXPECT_EQ(s["kind"], "operator");
    EXPECT_EQ(s["heads"], 2);
    EXPECT_EQ(s["first_genes"].size(), 3u);
    EXPECT_EQ(s["arrays"][0]["name"], "operators");
    const auto text = scx::format_scx_summary(s);
    EXPECT_NE(text.find("1 layers x 2 heads"), std::string::npos) << text;
    EXPECT_NE(text.find("CD3E, CD4, CD8A"), std::string::npos) << text;

    std::string bytes;
    {
        std::ifstream f(path, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(f), {});
    }
    bytes[bytes.size() - 3] ^= 0x7F; // inside the array: its CRC no longer matches
    const auto damaged = (dir / "damaged.scxop").string();
    std::ofstream(damaged, std::ios::binary) << bytes;
    try {
        (void)scx::summarize_scx_file(damaged);
        FAIL() << "a damaged container was summarised";
    } catch (const scx::Error& e) {
        EXPECT_NE(std::string(e.what()).find("damaged.scxop"), std::string::npos) << e.what();
    }
    std::filesystem::remove_all(dir);
}

// No output replaces an input: same file by name, through a symbolic link, through a hard
// link, a dangling link to an input, a file inside an input folder; and OutputFolder removes
// only a folder it made, and only when the run did not finish.

#include "scextract/core/error.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/output_paths.hpp"

#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace {

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

TEST(OutputPaths, SameFileByNameSymlinkAndHardLink) {
    scx::test::TempDir dir;
    write(dir / "in.h5ad", "input");
    fs::create_symlink("in.h5ad", dir / "sym.h5ad");
    fs::create_hard_link(dir / "in.h5ad", dir / "hard.h5ad");
    EXPECT_TRUE(scx::same_file(dir / "in.h5ad", dir / "in.h5ad"));
    EXPECT_TRUE(scx::same_file(dir / "in.h5ad", dir / "sym.h5ad"));
    EXPECT_TRUE(scx::same_file(dir / "in.h5ad", dir / "hard.h5ad"));
    EXPECT_TRUE(scx::same_file(dir / "in.h5ad", dir.path() / "." / "in.h5ad"));
    EXPECT_FALSE(scx::same_file(dir / "in.h5ad", dir / "other.h5ad"));
    EXPECT_FALSE(scx::same_file(dir / "in.h5ad", ""));
    // neither there: where the paths lead
    EXPECT_TRUE(scx::same_file(dir / "a" / ".." / "new.h5ad", dir / "new.h5ad"));
}

TEST(OutputPaths, RefusesEveryInputAndNamesBoth) {
    scx::test::TempDir dir;
    write(dir / "cells.h5ad", "cells");
    write(dir / "algo.scx", "algorithm");
    fs::create_symlink(dir / "algo.scx", dir / "link.scx");
    try {
        scx::refuse_overwriting_inputs(dir / "link.scx", {dir / "cells.h5ad", "", dir / "algo.scx"});
        FAIL() << "not refused";
    } catch (const scx::Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("link.scx: refusing to overwrite the input file"), std::string::npos) << what;
        EXPECT_NE(what.find("algo.scx"), std::string::npos) << what;
    }
    EXPECT_NO_THROW(scx::refuse_overwriting_inputs(dir / "out.h5ad", {dir / "cells.h5ad", dir / "algo.scx", ""}));
    EXPECT_NO_THROW(scx::refuse_overwriting_inputs(fs::path(), {dir / "cells.h5ad"})); // no output given
    // the single-input form goes through the same check (it used to need the output to exist
    // already, and compared nothing else)
    EXPECT_THROW(scx::refuse_overwriting_input(dir / "cells.h5ad", dir / "cells.h5ad"), scx::Error);
}

TEST(OutputPaths, FileInsideAnInputFolderIsAnInput) {
    scx::test::TempDir dir;
    fs::create_directory(dir / "model");
    write(dir / "model" / "vocab.json", "{}");
    EXPECT_THROW(scx::refuse_overwriting_inputs(dir / "model" / "vocab.json", {dir / "model"}), scx::Error);
    // a new file in the folder replaces nothing
    EXPECT_NO_THROW(scx::refuse_overwriting_inputs(dir / "model" / "new.scxop", {dir / "model"}));
}

TEST(OutputPaths, TwoOutputsThatAreOneFile) {
    scx::test::TempDir dir;
    write(dir / "cells.h5ad", "cells");
    EXPECT_THROW(scx::refuse_overwriting_inputs({dir / "a.h5ad", dir.path() / "." / "a.h5ad"}, {dir / "cells.h5ad"}),
                 scx::Error);
    EXPECT_NO_THROW(scx::refuse_overwriting_inputs({dir / "a.h5ad", "", dir / "b.json"}, {dir / "cells.h5ad"}));
    EXPECT_THROW(scx::refuse_overwriting_inputs({dir / "a.h5ad", dir / "cells.h5ad"}, {dir / "cells.h5ad"}), scx::Error);
}

TEST(OutputFolder, RemovesAFolderItMadeUnlessKept) {
    scx::test::TempDir dir;
    {
        scx::OutputFolder f(dir / "run", false);
        EXPECT_TRUE(f.created());
        fs::create_directory(dir / "run" / "checkpoint");
        write(dir / "run" / "checkpoint" / "a.split", "x");
    } // not kept: a failed run
    EXPECT_FALSE(fs::exists(dir / "run"));
    {
        scx::OutputFolder f(dir / "run", false);
        write(dir / "run" / "results.json", "{}");
        f.keep();
    }
    EXPECT_TRUE(fs::exists(dir / "run" / "results.json"));
    {
        scx::OutputFolder f(dir / "run", false); // there already: never removed
        EXPECT_FALSE(f.created());
    }
    EXPECT_TRUE(fs::exists(dir / "run" / "results.json"));
    write(dir / "file", "x");
    EXPECT_THROW(scx::OutputFolder(dir / "file", false), scx::Error);
}

} // namespace

// Temporary outputs are removed on SIGINT/SIGTERM: the registry the signal handler reads,
// AtomicOutput's registration, and a forked child killed while its temporary exists.

#include "scextract/io/atomic_file.hpp"
#include "scextract/io/live_temporaries.hpp"
#include "scextract/io/output_paths.hpp"

#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

namespace fs = std::filesystem;

namespace {

TEST(LiveTemporaries, RegisteredFilesAndFoldersAreRemoved) {
    scx::test::TempDir dir;
    std::ofstream(dir / "a.tmp") << "a";
    std::ofstream(dir / "kept") << "k";
    fs::create_directories(dir / "d" / "sub");
    std::ofstream(dir / "d" / "x") << "x";
    std::ofstream(dir / "d" / "sub" / "y") << "y";
    const int a = scx::register_live_temporary(dir / "a.tmp", false);
    const int d = scx::register_live_temporary(dir / "d", true);
    const int k = scx::register_live_temporary(dir / "kept", false);
    ASSERT_GE(a, 0);
    ASSERT_GE(d, 0);
    scx::unregister_live_temporary(k); // renamed into place: no longer a temporary
    scx::remove_live_temporaries();
    EXPECT_FALSE(fs::exists(dir / "a.tmp"));
    EXPECT_FALSE(fs::exists(dir / "d"));
    EXPECT_TRUE(fs::exists(dir / "kept"));
    scx::unregister_live_temporary(a);
    scx::unregister_live_temporary(d);
}

TEST(LiveTemporaries, AtomicOutputRegistersItsTemporaryUntilCommitted) {
    scx::test::TempDir dir;
    {
        scx::AtomicOutput out(dir / "x.h5ad");
        std::ofstream(out.temp_path()) << "partial";
        scx::remove_live_temporaries(); // what the signal handler does
        EXPECT_FALSE(fs::exists(out.temp_path()));
    }
    {
        scx::AtomicOutput out(dir / "y.h5ad");
        std::ofstream(out.temp_path()) << "whole";
        out.commit();
    }
    std::ofstream(dir / ".y.h5ad.tmp-x") << "not ours"; // committed: nothing of it stays registered
    scx::remove_live_temporaries();
    EXPECT_TRUE(fs::exists(dir / "y.h5ad"));
}

TEST(LiveTemporaries, ATableFullOfSlotsFailsSoftly) {
    std::vector<int> slots;
    for (int i = 0; i < scx::kMaxLiveTemporaries + 5; ++i) slots.push_back(scx::register_live_temporary("/nonexistent/x", false));
    EXPECT_GE(std::count(slots.begin(), slots.end(), -1), 5); // the extra ones get no slot, and no error
    for (const int s : slots) scx::unregister_live_temporary(s);
    EXPECT_GE(scx::register_live_temporary("/nonexistent/y", false), 0);
    scx::unregister_live_temporary(fs::path("/nonexistent/y"));
}

void killed_while_writing(int sig) {
    scx::test::TempDir dir;
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        scx::remove_live_temporaries_on_signals();
        scx::AtomicOutput out(dir / "big.h5ad");
        scx::OutputFolder folder(dir / "run", true);
        std::ofstream(out.temp_path()) << "partial";
        std::ofstream(dir / "run" / "hidden_0.npy") << "partial";
        ::raise(sig);
        ::_exit(0); // not reached
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "exit status " << status;
    EXPECT_EQ(WTERMSIG(status), sig);
    EXPECT_TRUE(fs::is_empty(dir.path())) << "left: " << fs::directory_iterator(dir.path())->path();
}

TEST(LiveTemporaries, SigtermLeavesNothingAndEndsByTheSignal) { killed_while_writing(SIGTERM); }
TEST(LiveTemporaries, SigintLeavesNothingAndEndsByTheSignal) { killed_while_writing(SIGINT); }

} // namespace

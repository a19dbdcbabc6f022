// Replays every seed corpus file of the prom fuzz targets through the same entry functions, so
// the normal build (and the ASan preset) covers them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "prom_fuzz_entries.h"

namespace gpuscale::fuzz {
namespace {

namespace fs = std::filesystem;

int Replay(const fs::path& dir, void (*one)(std::string_view)) {
  int n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    SCOPED_TRACE(entry.path().string());
    one(ss.str());  // aborts on a broken invariant
    ++n;
  }
  return n;
}

TEST(PromFuzzCorpusTest, ReplaysTextCorpus) {
  EXPECT_GE(Replay("corpus/prom_text", PromTextOne), 30);
}

TEST(PromFuzzCorpusTest, ReplaysJsonCorpus) {
  EXPECT_GE(Replay("corpus/prom_json", PromJsonOne), 10);
}

}  // namespace
}  // namespace gpuscale::fuzz

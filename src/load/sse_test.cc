#include "load/sse.h"

#include <gtest/gtest.h>

namespace gpuscale::load {
namespace {

std::vector<SseEvent> FeedAll(const std::vector<std::string>& pieces, SseParser* p) {
  std::vector<SseEvent> out;
  for (const auto& piece : pieces) p->Feed(piece, &out);
  return out;
}

TEST(SseTest, SplitsEventsAtBlankLines) {
  SseParser p;
  auto ev = FeedAll({"data: {\"a\":1}\n\ndata: [DONE]\n\n"}, &p);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].data, "{\"a\":1}");
  EXPECT_EQ(ev[1].data, "[DONE]");
  EXPECT_EQ(p.pending(), 0u);
}

TEST(SseTest, EveryByteBoundaryGivesTheSameEvents) {
  const std::string body =
      ": keep-alive\r\n\r\nevent: x\r\ndata: one\r\ndata: two\r\n\r\ndata:three\r\rdata: 4\n\n";
  SseParser whole;
  auto expected = FeedAll({body}, &whole);
  ASSERT_EQ(expected.size(), 3u);
  EXPECT_EQ(expected[0].event, "x");
  EXPECT_EQ(expected[0].data, "one\ntwo");
  EXPECT_EQ(expected[1].data, "three");
  EXPECT_EQ(expected[2].data, "4");
  for (std::size_t cut = 0; cut <= body.size(); ++cut) {
    SseParser p;
    auto ev = FeedAll({body.substr(0, cut), body.substr(cut)}, &p);
    ASSERT_EQ(ev.size(), expected.size()) << cut;
    for (std::size_t i = 0; i < ev.size(); ++i) {
      EXPECT_EQ(ev[i].data, expected[i].data) << cut;
      EXPECT_EQ(ev[i].event, expected[i].event) << cut;
    }
  }
  SseParser bytewise;
  std::vector<std::string> bytes;
  for (char c : body) bytes.emplace_back(1, c);
  EXPECT_EQ(FeedAll(bytes, &bytewise).size(), 3u);
}

TEST(SseTest, AnUnfinishedEventIsPending) {
  SseParser p;
  auto ev = FeedAll({"data: {\"choices\":[", "{\"text\":\"a\"}]}"}, &p);
  EXPECT_TRUE(ev.empty());
  EXPECT_GT(p.pending(), 0u);
  ev = FeedAll({"\n"}, &p);
  EXPECT_TRUE(ev.empty());
  EXPECT_GT(p.pending(), 0u);
}

}  // namespace
}  // namespace gpuscale::load

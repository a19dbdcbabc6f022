#include "engine/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "gpu/emu_state.h"
#include "http/client.h"
#include "http/message.h"

namespace gpuscale::engine {
namespace {

using std::chrono::milliseconds;

bool WaitFor(const std::function<bool()>& pred, milliseconds timeout = milliseconds(10000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    std::this_thread::sleep_for(milliseconds(2));
  }
  return true;
}

int Count(const std::string& haystack, std::string_view needle) {
  int n = 0;
  for (auto p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) {
    ++n;
  }
  return n;
}

class EngineServerTest : public ::testing::Test {
 protected:
  void StartServer(EngineServerOptions o = {}) {
    auto profile = FindProfile("gemma-3-1b-it-h100");  // ~5 ms steps keep tests quick
    ASSERT_TRUE(profile.ok());
    o.host = "127.0.0.1";
    o.port = 0;
    o.seed = 7;
    auto s = EngineServer::Start(*profile, o, scheduler_);
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    server_ = std::move(s).value();
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  core::Result<http::Response> Post(std::string_view path, std::string body) {
    return client_->Post(base_ + std::string(path), std::move(body));
  }

  core::ThreadScheduler scheduler_;
  std::unique_ptr<http::Client> client_ = http::Client::Create();
  std::unique_ptr<EngineServer> server_;
  std::string base_;
};

TEST_F(EngineServerTest, ChatCompletionNonStreaming) {
  StartServer();
  auto r = Post("/v1/chat/completions",
                R"({"model":"google/gemma-3-1b-it","messages":[{"role":"user","content":"Hi"}],)"
                R"("max_tokens":20,"ignore_eos":true})");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers.Get("Content-Type").value_or(""), "application/json");
  const std::string& b = r->body;
  EXPECT_EQ(b.rfind(R"({"id":"chatcmpl-)", 0), 0u) << b;
  EXPECT_NE(b.find(R"("object":"chat.completion")"), std::string::npos);
  EXPECT_NE(b.find(R"("finish_reason":"length")"), std::string::npos);
  EXPECT_NE(b.find(R"("completion_tokens":20,)"), std::string::npos) << b;
  EXPECT_EQ(server_->stats().generation_tokens_total, 20u);
}

TEST_F(EngineServerTest, CompletionStreamingWithUsage) {
  StartServer();
  auto r =
      Post("/v1/completions", R"({"prompt":"San Francisco is a","max_tokens":12,"ignore_eos":true,)"
                              R"("stream":true,"stream_options":{"include_usage":true}})");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers.Get("Content-Type").value_or(""), "text/event-stream");
  const std::string& b = r->body;
  EXPECT_EQ(Count(b, "data: "), 12 + 2);  // 12 tokens, usage, [DONE]
  EXPECT_EQ(Count(b, R"("object":"text_completion")"), 13);
  EXPECT_EQ(Count(b, R"("finish_reason":"length")"), 1);
  EXPECT_NE(b.find(R"("choices":[],"usage":{"prompt_tokens":5,"total_tokens":17,)"
                   R"("completion_tokens":12}})"),
            std::string::npos)
      << b;
  EXPECT_TRUE(b.size() > 14 && b.substr(b.size() - 14) == "data: [DONE]\n\n");
}

TEST_F(EngineServerTest, ChatStreamingStartsWithTheRoleChunk) {
  StartServer();
  auto r =
      Post("/v1/chat/completions", R"({"messages":[{"role":"user","content":"Hi"}],"max_tokens":5,)"
                                   R"("ignore_eos":true,"stream":true})");
  ASSERT_TRUE(r.ok());
  const std::string& b = r->body;
  auto role = b.find(R"("delta":{"role":"assistant","content":""})");
  ASSERT_NE(role, std::string::npos) << b;
  EXPECT_LT(role, b.find(R"("delta":{"content":")"));
  EXPECT_EQ(Count(b, "data: "), 1 + 5 + 1);
  EXPECT_EQ(b.find(R"("usage")"), std::string::npos);
}

TEST_F(EngineServerTest, ErrorsAsVllmReturnsThem) {
  StartServer();
  auto bad = Post("/v1/chat/completions", "{not json");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find(R"("object":"error")"), std::string::npos);
  EXPECT_NE(bad->body.find(R"("type":"BadRequestError")"), std::string::npos);
  EXPECT_NE(bad->body.find("JSON decode error at 1:"), std::string::npos) << bad->body;

  auto model = Post("/v1/completions", R"({"model":"gpt-4","prompt":"x"})");
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(model->status, 404);
  EXPECT_NE(model->body.find("The model `gpt-4` does not exist."), std::string::npos);

  auto too_long = Post("/v1/completions", R"({"prompt":"x","max_tokens":40000})");
  ASSERT_TRUE(too_long.ok());
  EXPECT_EQ(too_long->status, 400);
  EXPECT_NE(too_long->body.find("maximum context length is 32768 tokens"), std::string::npos);

  auto get = client_->Get(base_ + "/v1/models");
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->status, 200);
  EXPECT_NE(get->body.find(R"("id":"google/gemma-3-1b-it")"), std::string::npos);
  auto health = client_->Get(base_ + "/health");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
  EXPECT_TRUE(health->body.empty());
  auto version = client_->Get(base_ + "/version");
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(version->body, R"({"version":"0.10.0"})");
}

TEST_F(EngineServerTest, ServedModelNameReplacesTheProfileModel) {
  EngineServerOptions o;
  o.served_model_name = "gemma";
  StartServer(o);
  auto ok = Post("/v1/completions", R"({"model":"gemma","prompt":"x","max_tokens":1})");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
  EXPECT_NE(ok->body.find(R"("model":"gemma")"), std::string::npos);
  auto other =
      Post("/v1/completions", R"({"model":"google/gemma-3-1b-it","prompt":"x","max_tokens":1})");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->status, 404);
}

TEST_F(EngineServerTest, DisconnectCancelsTheRequestAndFreesItsBlocks) {
  StartServer();
  auto async = http::AsyncClient::Create();
  auto url = http::ParseUrl(base_ + "/v1/chat/completions");
  ASSERT_TRUE(url.ok());
  http::Request req =
      http::Request::PostJson(R"({"messages":[{"role":"user","content":"Hi"}],"max_tokens":30000,)"
                              R"("ignore_eos":true,"stream":true})");
  std::atomic<int> chunks{0};
  std::atomic<bool> done{false};
  http::AsyncCallbacks cb;
  cb.on_data = [&](std::string_view) { return ++chunks < 3; };  // hang up after 3 pieces
  cb.on_done = [&](core::Result<http::Response>) { done = true; };
  async->Send(*url, req, cb);
  ASSERT_TRUE(WaitFor([&] { return done.load(); }));
  ASSERT_TRUE(WaitFor([&] { return server_->active_requests() == 0; }));
  EngineStats s = server_->stats();
  EXPECT_EQ(s.num_running, 0);
  EXPECT_EQ(s.used_blocks, 0);
  EXPECT_LT(s.generation_tokens_total, 1000u);
  EXPECT_NE(server_->RenderMetrics().find(R"(finished_reason="abort"} 1)"), std::string::npos);
}

// A client that hangs up is cancelled while its next token is planned (a step's time is most of
// the time): the step's end must skip it and serve everyone else as if nothing happened.
TEST_F(EngineServerTest, HangUpsDuringStepsLeaveTheOtherStreamsWhole) {
  StartServer();
  auto async = http::AsyncClient::Create();
  auto url = http::ParseUrl(base_ + "/v1/completions");
  ASSERT_TRUE(url.ok());
  constexpr int kQuitters = 16;
  constexpr int kTokens = 40;
  std::atomic<int> done{0};
  for (int i = 0; i < kQuitters; ++i) {
    http::Request req = http::Request::PostJson(
        R"({"prompt":"Hi","max_tokens":30000,"ignore_eos":true,"stream":true})");
    http::AsyncCallbacks cb;
    auto pieces = std::make_shared<int>(0);
    cb.on_data = [pieces, i](std::string_view) { return ++*pieces <= i; };
    cb.on_done = [&](core::Result<http::Response>) { ++done; };
    async->Send(*url, req, cb);
  }
  auto whole = Post("/v1/completions", R"({"prompt":"Hi","max_tokens":40,"ignore_eos":true,)"
                                       R"("stream":true})");
  ASSERT_TRUE(whole.ok()) << whole.error().ToString();
  EXPECT_EQ(Count(whole->body, R"("object":"text_completion")"), kTokens);
  EXPECT_TRUE(whole->body.ends_with("data: [DONE]\n\n"));
  ASSERT_TRUE(WaitFor([&] { return done.load() == kQuitters; }));
  ASSERT_TRUE(WaitFor([&] { return server_->active_requests() == 0; }));
  EXPECT_EQ(server_->stats().used_blocks, 0);
  EXPECT_NE(server_->RenderMetrics().find(R"(finished_reason="abort"} 16)"), std::string::npos);
}

TEST_F(EngineServerTest, MetricsFollowTheLoad) {
  StartServer();
  auto async = http::AsyncClient::Create();
  auto url = http::ParseUrl(base_ + "/v1/completions");
  ASSERT_TRUE(url.ok());
  std::atomic<int> finished{0};
  const int kRequests = 6;
  for (int i = 0; i < kRequests; ++i) {
    http::Request req =
        http::Request::PostJson(R"({"prompt":"hello","max_tokens":100,"ignore_eos":true})");
    http::AsyncCallbacks cb;
    cb.on_done = [&](core::Result<http::Response> r) {
      if (r.ok() && r->status == 200) ++finished;
    };
    async->Send(*url, req, cb);
  }
  // While they run (100 tokens x ~5 ms), the running gauge (a step snapshot) shows them.
  const std::string running6 =
      "vllm:num_requests_running{model_name=\"google/gemma-3-1b-it\",engine=\"0\"} 6\n";
  EXPECT_TRUE(
      WaitFor([&] { return server_->RenderMetrics().find(running6) != std::string::npos; }));
  ASSERT_TRUE(WaitFor([&] { return finished.load() == kRequests; }));
  auto m = client_->Get(base_ + "/metrics");
  ASSERT_TRUE(m.ok());
  EXPECT_NE(m->body.find("vllm:num_requests_running{model_name=\"google/gemma-3-1b-it\","
                         "engine=\"0\"} 0"),
            std::string::npos);
  EXPECT_NE(m->body.find(R"(finished_reason="length"} 6)"), std::string::npos);
  EXPECT_NE(m->body.find("vllm:generation_tokens_total{model_name=\"google/gemma-3-1b-it\","
                         "engine=\"0\"} 600"),
            std::string::npos);
  TimingErrorStats t = server_->timing_error();
  EXPECT_EQ(t.tokens, 600u);
}

TEST_F(EngineServerTest, DrivesTheEmulatedGpu) {
  std::string dir = ::testing::TempDir() + "engine_emu_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  EngineServerOptions o;
  o.emu_dir = dir;
  o.gpu_index = 1;  // GPU 0 is created too, so the directory stays contiguous
  StartServer(o);
  EXPECT_EQ(gpu::emu::CountGpus(dir), 2);
  auto conf = gpu::emu::ReadConfig(gpu::emu::ConfigPath(dir, 1));
  ASSERT_TRUE(conf.ok());
  EXPECT_EQ(conf->name, "NVIDIA H100 80GB HBM3");
  auto counters = gpu::emu::CountersMapping::Open(gpu::emu::CountersPath(dir, 1), false);
  ASSERT_TRUE(counters.ok());
  EXPECT_EQ((*counters)->writer_pid.load(), static_cast<std::uint64_t>(::getpid()));
  std::uint64_t weights = (*counters)->memory_used_bytes.load();
  EXPECT_GT(weights, 1'900'000'000u);
  EXPECT_EQ((*counters)->busy_ns.load(), 0u);
  auto r = Post("/v1/completions", R"({"prompt":"x","max_tokens":40,"ignore_eos":true})");
  ASSERT_TRUE(r.ok());
  // 40 steps of >= 5 ms each.
  EXPECT_GE((*counters)->busy_ns.load(), 40u * 5'000'000u);
  EXPECT_GT((*counters)->sm_active_ns.load(), 0u);
  EXPECT_LT((*counters)->sm_active_ns.load(), (*counters)->busy_ns.load());
  EXPECT_GT((*counters)->dram_active_ns.load(), 0u);
  EXPECT_EQ((*counters)->memory_used_bytes.load(), weights);  // its KV blocks were freed
  server_->Shutdown(milliseconds(0));
  EXPECT_EQ((*counters)->writer_pid.load(), 0u);
  std::filesystem::remove_all(dir);
}

TEST_F(EngineServerTest, ShutdownDrainsInFlightRequests) {
  StartServer();
  std::atomic<bool> got{false};
  std::string body;
  std::thread t([&] {
    auto r = Post("/v1/chat/completions",
                  R"({"messages":[{"role":"user","content":"Hi"}],"max_tokens":40,)"
                  R"("ignore_eos":true,"stream":true})");
    if (r.ok()) body = r->body;
    got = true;
  });
  ASSERT_TRUE(WaitFor([&] { return server_->active_requests() == 1; }));
  server_->Shutdown(milliseconds(5000));
  t.join();
  EXPECT_TRUE(got);
  EXPECT_NE(body.find("data: [DONE]"), std::string::npos);
  EXPECT_EQ(Count(body, R"("delta":{"content":)"), 40);
  // After the drain, new connections are refused.
  auto after = client_->Get(base_ + "/health");
  EXPECT_FALSE(after.ok());
}

TEST_F(EngineServerTest, ShutdownDeadlineCancelsWhatIsLeft) {
  StartServer();
  std::atomic<bool> got{false};
  std::thread t([&] {
    auto r = Post("/v1/chat/completions",
                  R"({"messages":[{"role":"user","content":"Hi"}],"max_tokens":20000,)"
                  R"("ignore_eos":true,"stream":true})");
    got = true;
  });
  ASSERT_TRUE(WaitFor([&] { return server_->active_requests() == 1; }));
  auto start = std::chrono::steady_clock::now();
  server_->Shutdown(milliseconds(200));
  t.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_TRUE(got);
  EXPECT_EQ(server_->active_requests(), 0);
  EXPECT_EQ(server_->stats().used_blocks, 0);
}

}  // namespace
}  // namespace gpuscale::engine

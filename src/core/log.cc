#include "core/log.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>

#include "core/json_escape.h"

namespace gpuscale::core {

namespace {
std::atomic<int> g_verbosity{0};  // the one process-wide setting klog's --v also is

// Writes one JSON object per line to stderr: {"ts":...,"level":...,"msg":...}.
class JsonStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string line = "{\"ts\":";
    double ts = std::chrono::duration<double>(msg.time.time_since_epoch()).count();
    line += fmt::format("{:.6f}", ts);
    line += ",\"level\":\"";
    auto level = spdlog::level::to_string_view(msg.level);
    line.append(level.data(), level.size());
    line += "\",\"msg\":";
    AppendJsonString(std::string_view(msg.payload.data(), msg.payload.size()), &line);
    line += "}\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};
}  // namespace

Status ConfigureLogging(const LogOptions& options) {
  spdlog::sink_ptr sink;
  if (options.format == "text") {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    sink->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v");
  } else if (options.format == "json") {
    sink = std::make_shared<JsonStderrSink>();
  } else {
    return InvalidArgument("--log-format: expected text or json, found '" + options.format + "'");
  }
  spdlog::level::level_enum level =
      options.verbosity > 0 ? spdlog::level::debug : spdlog::level::info;
  if (!options.level.empty()) {
    level = spdlog::level::from_str(options.level);
    if (level == spdlog::level::off && options.level != "off") {
      return InvalidArgument(
          "--log-level: expected trace, debug, info, warn, error or off, found '" + options.level +
          "'");
    }
  }
  auto logger = std::make_shared<spdlog::logger>("gpuscale", sink);
  logger->set_level(level);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  g_verbosity.store(options.verbosity);
  return Status::Ok();
}

bool V(int level) { return g_verbosity.load(std::memory_order_relaxed) >= level; }

}  // namespace gpuscale::core

#include "test/support/prometheus.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace gpuscale::testing {
namespace {

std::string FindBinary(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

std::string Seconds(std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; }

}  // namespace

core::Result<std::pair<int, std::string>> RawHttpGet(std::uint16_t port, const std::string& path,
                                                     std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return core::Internal("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return core::Unavailable("connect to 127.0.0.1:" + std::to_string(port) + " failed");
  }
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return core::Unavailable("send failed");
  }
  std::string response;
  char buf[4096];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::close(fd);
      return core::DeadlineExceeded("GET " + path + " timed out");
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    response.append(buf, n);
  }
  ::close(fd);
  // "HTTP/1.x NNN ..."
  if (response.size() < 12 || !response.starts_with("HTTP/")) {
    return core::DataLoss("not an HTTP answer from 127.0.0.1:" + std::to_string(port));
  }
  int status = std::atoi(response.c_str() + 9);
  std::size_t body = response.find("\r\n\r\n");
  return std::make_pair(status, body == std::string::npos ? "" : response.substr(body + 4));
}

core::Result<std::unique_ptr<PrometheusServer>> PrometheusServer::Start(Options options) {
  if (const char* env = std::getenv("PROMETHEUS")) options.binary = env;
  std::string binary = FindBinary(options.binary);
  if (binary.empty()) {
    return core::NotFound("prometheus binary \"" + options.binary +
                          "\" not found (install Debian's prometheus package: scripts/setup)");
  }
  // A port picked by FreePort can be taken before Prometheus binds it; try a few.
  std::string last_log;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::string dir = MakeTempDir("gpuscale-prometheus-");
    std::uint16_t port = FreePort();
    std::string config = dir + "/prometheus.yml";
    {
      std::ofstream out(config);
      out << "global:\n  scrape_interval: " << Seconds(options.scrape_interval)
          << "\n  evaluation_interval: "
          << Seconds(options.evaluation_interval.count() > 0 ? options.evaluation_interval
                                                             : options.scrape_interval)
          << "\n";
      if (!options.rule_files.empty()) {
        out << "rule_files:\n";
        for (const auto& file : options.rule_files) out << "  - '" << file << "'\n";
      }
      out << "scrape_configs:\n  - job_name: prometheus\n    static_configs:\n"
          << "      - targets: ['127.0.0.1:" << port << "']\n"
          << options.scrape_configs;
    }
    Subprocess::Options process_options;
    process_options.argv = {binary,
                            "--config.file=" + config,
                            "--storage.tsdb.path=" + dir + "/data",
                            "--web.listen-address=127.0.0.1:" + std::to_string(port),
                            "--web.console.templates=" + dir,
                            "--web.console.libraries=" + dir,
                            "--log.level=info"};
    for (const std::string& arg : options.extra_args) process_options.argv.push_back(arg);
    process_options.log_file = dir + "/prometheus.log";
    GPUSCALE_ASSIGN_OR_RETURN(std::unique_ptr<Subprocess> process,
                              Subprocess::Start(std::move(process_options)));
    bool ready = WaitFor(
        [&] {
          if (!process->Running()) return true;  // exited: stop waiting
          auto r = RawHttpGet(port, "/-/ready", std::chrono::milliseconds(1000));
          return r.ok() && r->first == 200;
        },
        options.ready_timeout, std::chrono::milliseconds(50));
    if (ready && process->Running()) {
      return std::unique_ptr<PrometheusServer>(
          new PrometheusServer(std::move(process), port, std::move(dir)));
    }
    last_log = process->ReadLog();
    process->Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    if (ready) continue;  // it exited (most likely the port was taken): try another port
    break;
  }
  if (last_log.size() > 2000) last_log = "..." + last_log.substr(last_log.size() - 2000);
  return core::Unavailable("prometheus did not become ready; its log ends:\n" + last_log);
}

PrometheusServer::~PrometheusServer() {
  process_->Stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string PrometheusServer::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

}  // namespace gpuscale::testing

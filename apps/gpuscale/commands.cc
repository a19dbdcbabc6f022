#include "apps/gpuscale/commands.h"

#include <cstdio>

namespace gpuscale::app {

bool SetUpLogging(const core::LogOptions& log) {
  core::Status s = core::ConfigureLogging(log);
  if (!s.ok()) {
    std::fprintf(stderr, "gpuscale: %s\n", s.error().message.c_str());
    return false;
  }
  return true;
}

void RegisterVersion(CLI::App& app, CommandSet& commands) {
  CLI::App* sub = app.add_subcommand("version", "Print the gpuscale version");
  commands.Add(sub, [] {
    std::printf("gpuscale %.*s\n", static_cast<int>(kVersion.size()), kVersion.data());
    return 0;
  });
}

void RegisterCommands(CLI::App& app, core::LogOptions& log, CommandSet& commands) {
  (void)log;
  RegisterVersion(app, commands);
  RegisterExporter(app, log, commands);
  RegisterHpa(app, commands);
  RegisterEngine(app, log, commands);
  RegisterLoad(app, log, commands);
  RegisterAdapter(app, log, commands);
  RegisterUp(app, log, commands);
  RegisterSimulate(app, log, commands);
}

}  // namespace gpuscale::app

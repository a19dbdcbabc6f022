// gpuscale: one binary, one subcommand per component. This file parses flags into each
// component's Options and wires real implementations; all logic lives in src/.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "apps/gpuscale/commands.h"
#include "core/log.h"

int main(int argc, char** argv) {
  CLI::App app{
      "gpuscale: GPU-metric autoscaling of LLM inference servers, on Kubernetes and on one "
      "machine."};
  app.require_subcommand(1);
  app.fallthrough();  // global flags such as --v may follow the subcommand (gpuscale adapter --v=4)
  app.set_version_flag("--version", std::string(gpuscale::app::kVersion));

  gpuscale::core::LogOptions log_options;
  app.add_option("--v", log_options.verbosity, "Log verbosity (klog style): 0..10")
      ->capture_default_str();
  app.add_option("--log-format", log_options.format, "Log format: text or json")
      ->capture_default_str();

  gpuscale::app::CommandSet commands;
  gpuscale::app::RegisterCommands(app, log_options, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return commands.Run();
}

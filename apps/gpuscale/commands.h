// Registration of every subcommand. Each component contributes one RegisterX function in its
// own commands_<x>.cc so that flags stay beside the component they configure.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string_view>
#include <vector>

#include "core/log.h"

namespace gpuscale::app {

inline constexpr std::string_view kVersion = "0.1.0";

// The subcommand actions; the one whose subcommand was parsed runs.
class CommandSet {
 public:
  void Add(CLI::App* sub, std::function<int()> action) { entries_.push_back({sub, action}); }
  int Run() const {
    for (const auto& e : entries_) {
      if (e.sub->parsed()) return e.action();
    }
    return 2;
  }

 private:
  struct Entry {
    CLI::App* sub;
    std::function<int()> action;
  };
  std::vector<Entry> entries_;
};

// Adds every subcommand to `app`. `log` is filled by global flags before any action runs.
void RegisterCommands(CLI::App& app, core::LogOptions& log, CommandSet& commands);

// Applies the logging flags; prints the error and returns false if they are invalid.
bool SetUpLogging(const core::LogOptions& log);

void RegisterVersion(CLI::App& app, CommandSet& commands);
void RegisterExporter(CLI::App& app, core::LogOptions& log, CommandSet& commands);
void RegisterHpa(CLI::App& app, CommandSet& commands);
void RegisterEngine(CLI::App& app, core::LogOptions& log, CommandSet& commands);
void RegisterLoad(CLI::App& app, core::LogOptions& log, CommandSet& commands);
void RegisterAdapter(CLI::App& app, core::LogOptions& log, CommandSet& commands);
void RegisterUp(CLI::App& app, core::LogOptions& log, CommandSet& commands);
void RegisterSimulate(CLI::App& app, core::LogOptions& log, CommandSet& commands);

}  // namespace gpuscale::app

// Reads the observed state of one sync (docs/hpa-state.md) from JSON or YAML, and a series of
// them from JSON Lines, into State structs. Errors name file:line:column and the field path.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "hpa/normalize.h"
#include "hpa/types.h"

namespace gpuscale::hpa {

// Controller memory a state file may carry, so that one sync can be predicted mid-history.
struct ControllerHistory {
  std::optional<std::vector<Recommendation>> recommendations;  // unset: seeded on first sight
  std::vector<ScaleEvent> scale_up_events;
  std::vector<ScaleEvent> scale_down_events;
};

struct StateInput {
  State state;
  ControllerHistory history;
};

// `file` and `line_offset` place errors (line_offset is added to the document's lines).
core::Result<StateInput> ParseState(std::string_view text, const std::string& file = "<state>",
                                    int line_offset = 0);
core::Result<StateInput> LoadStateFile(const std::string& path);
// One state per non-blank line.
core::Result<std::vector<StateInput>> ParseStateLines(std::string_view text,
                                                      const std::string& file = "<states>");
core::Result<std::vector<StateInput>> LoadStateLinesFile(const std::string& path);

}  // namespace gpuscale::hpa

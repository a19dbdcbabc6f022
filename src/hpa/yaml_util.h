// Helpers for reading YAML/JSON documents with yaml-cpp into plain structs, with errors that
// name the file, line, column and field path. Internal to src/hpa (.cc files only).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

namespace gpuscale::hpa::internal {

// Where a document came from: a file name and a line offset (for JSON Lines).
struct Source {
  std::string file;
  int line_offset = 0;
};

core::Error ErrorAt(const Source& src, const YAML::Node& node, std::string_view path,
                    std::string_view message);
core::Error ErrorAt(const Source& src, const YAML::Mark& mark, std::string_view message);

// Loads one document; parse errors carry file:line:column.
core::Result<YAML::Node> Load(const Source& src, std::string_view text);

core::Status ExpectMap(const Source& src, const YAML::Node& node, std::string_view path);
core::Status ExpectSeq(const Source& src, const YAML::Node& node, std::string_view path);
// Rejects keys not in `allowed`.
core::Status CheckKeys(const Source& src, const YAML::Node& map, std::string_view path,
                       std::initializer_list<std::string_view> allowed);

core::Result<std::string> String(const Source& src, const YAML::Node& node, std::string_view path);
core::Result<int64_t> Int(const Source& src, const YAML::Node& node, std::string_view path,
                          int64_t min, int64_t max);
core::Result<double> Double(const Source& src, const YAML::Node& node, std::string_view path);
core::Result<bool> Bool(const Source& src, const YAML::Node& node, std::string_view path);
// A resource.Quantity in milli-units (string or number).
core::Result<int64_t> Milli(const Source& src, const YAML::Node& node, std::string_view path);
// RFC 3339 ("2025-01-01T00:00:00Z", fractions and offsets allowed), a number of Unix seconds,
// or a negative Go duration ("-90s") relative to `relative_to`.
core::Result<core::Timestamp> Time(const Source& src, const YAML::Node& node, std::string_view path,
                                   core::Timestamp relative_to);

// RFC 3339 text without a node (for tests and other callers).
core::Result<core::Timestamp> ParseRfc3339(std::string_view text);
std::string FormatRfc3339(core::Timestamp t);

}  // namespace gpuscale::hpa::internal

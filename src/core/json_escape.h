// JSON string escaping without a JSON library, for hot paths and logs.
#pragma once

#include <string>
#include <string_view>

namespace gpuscale::core {

// Appends `s` to `out` as a quoted JSON string (RFC 8259 escapes; bytes >= 0x80 pass through).
void AppendJsonString(std::string_view s, std::string* out);
inline std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

}  // namespace gpuscale::core

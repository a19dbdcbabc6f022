// Server-Sent Events framing (the text/event-stream format): bytes in, events out, across
// arbitrary piece boundaries. Pure; one parser per stream, not thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gpuscale::load {

struct SseEvent {
  std::string event;  // the "event:" field; empty for the default "message"
  std::string data;   // "data:" lines joined with '\n'
};

class SseParser {
 public:
  // Consumes one piece of the body and appends each event it completes to `out`.
  void Feed(std::string_view piece, std::vector<SseEvent>* out);
  // Bytes held for an incomplete line or event (a stream that ends with pending() > 0 was cut).
  std::size_t pending() const { return line_.size() + (has_data_ ? data_.size() + 1 : 0); }

 private:
  void Line(std::string_view line, std::vector<SseEvent>* out);
  std::string line_;
  std::string data_;
  std::string event_;
  bool has_data_ = false;
  bool skip_lf_ = false;  // the previous piece ended with '\r'
};

}  // namespace gpuscale::load

#include "load/sse.h"

namespace gpuscale::load {

void SseParser::Feed(std::string_view piece, std::vector<SseEvent>* out) {
  std::size_t i = 0;
  if (skip_lf_ && !piece.empty()) {
    if (piece[0] == '\n') i = 1;
    skip_lf_ = false;
  }
  while (i < piece.size()) {
    std::size_t end = piece.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      line_.append(piece.substr(i));
      return;
    }
    if (line_.empty()) {
      Line(piece.substr(i, end - i), out);
    } else {
      line_.append(piece.substr(i, end - i));
      std::string line = std::move(line_);
      line_.clear();
      Line(line, out);
    }
    if (piece[end] == '\r') {
      if (end + 1 < piece.size()) {
        if (piece[end + 1] == '\n') ++end;
      } else {
        skip_lf_ = true;
      }
    }
    i = end + 1;
  }
}

void SseParser::Line(std::string_view line, std::vector<SseEvent>* out) {
  if (line.empty()) {
    if (has_data_) out->push_back({std::move(event_), std::move(data_)});
    data_.clear();
    event_.clear();
    has_data_ = false;
    return;
  }
  if (line[0] == ':') return;  // a comment (keep-alive)
  std::size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value =
      colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
  if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (has_data_) data_ += '\n';
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    event_ = std::string(value);
  }
}

}  // namespace gpuscale::load

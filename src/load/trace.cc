#include "load/trace.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>

namespace gpuscale::load {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool ReadDigits(std::string_view s, std::size_t* pos, std::size_t n, int* out) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Expect(std::string_view s, std::size_t* pos, char c) {
  if (*pos >= s.size() || s[*pos] != c) return false;
  ++*pos;
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

struct Field {
  std::string_view text;
  std::size_t column;  // 1-based
};

std::vector<Field> SplitCsv(std::string_view line) {
  std::vector<Field> fields;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = line.find(',', start);
    std::string_view raw = line.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    std::size_t lead = 0;
    while (lead < raw.size() && (raw[lead] == ' ' || raw[lead] == '\t')) ++lead;
    fields.push_back({Trim(raw), start + lead + 1});
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return fields;
}

std::string Quote(std::string_view s) {
  std::string out = "'";
  out.append(s.substr(0, 40));
  if (s.size() > 40) out += "...";
  out += "'";
  return out;
}

core::Result<core::Duration> ParseNumberSeconds(std::string_view text) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || !(v >= 0) || v > 1e12) {
    return core::InvalidArgument("expected 'YYYY-MM-DD HH:MM:SS[.fraction]' or seconds, found " +
                                 Quote(text));
  }
  return core::FromSeconds(v);
}

}  // namespace

core::Result<core::Duration> ParseTraceTimestamp(std::string_view s) {
  auto bad = [&] {
    return core::InvalidArgument("expected 'YYYY-MM-DD HH:MM:SS[.fraction]', found " + Quote(s));
  };
  std::size_t pos = 0;
  int year, month, day, hour, minute, second;
  if (!ReadDigits(s, &pos, 4, &year) || !Expect(s, &pos, '-') || !ReadDigits(s, &pos, 2, &month) ||
      !Expect(s, &pos, '-') || !ReadDigits(s, &pos, 2, &day)) {
    return bad();
  }
  if (pos >= s.size() || (s[pos] != ' ' && s[pos] != 'T')) return bad();
  ++pos;
  if (!ReadDigits(s, &pos, 2, &hour) || !Expect(s, &pos, ':') || !ReadDigits(s, &pos, 2, &minute) ||
      !Expect(s, &pos, ':') || !ReadDigits(s, &pos, 2, &second)) {
    return bad();
  }
  std::int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 9) nanos = nanos * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return bad();
    for (int i = digits; i < 9; ++i) nanos *= 10;
  }
  if (pos < s.size() && s[pos] == 'Z') ++pos;
  if (pos != s.size()) return bad();
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return core::InvalidArgument("date or time out of range in " + Quote(s));
  }
  std::int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second;
  return core::Duration(secs * 1'000'000'000LL + nanos);
}

core::Result<Trace> ParseAzureTrace(std::string_view text, std::string_view name) {
  auto where = [&](std::size_t line, std::size_t column) {
    return std::string(name) + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
  };
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark

  std::size_t line_no = 0;
  std::size_t pos = 0;
  auto next_line = [&](std::string_view* line) {
    if (pos >= text.size()) return false;
    std::size_t nl = text.find('\n', pos);
    *line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    return true;
  };

  std::string_view header;
  if (!next_line(&header)) {
    return core::InvalidArgument(where(1, 1) +
                                 "expected a header TIMESTAMP,ContextTokens,GeneratedTokens, "
                                 "found an empty file");
  }
  std::vector<Field> head = SplitCsv(header);
  int ts_col = -1, ctx_col = -1, gen_col = -1;
  for (std::size_t i = 0; i < head.size(); ++i) {
    if (head[i].text == "TIMESTAMP") ts_col = static_cast<int>(i);
    if (head[i].text == "ContextTokens") ctx_col = static_cast<int>(i);
    if (head[i].text == "GeneratedTokens") gen_col = static_cast<int>(i);
  }
  for (auto [col, col_name] : {std::pair{ts_col, "TIMESTAMP"}, std::pair{ctx_col, "ContextTokens"},
                               std::pair{gen_col, "GeneratedTokens"}}) {
    if (col < 0) {
      return core::InvalidArgument(where(1, 1) + "header: expected a column '" + col_name +
                                   "', found " + Quote(header));
    }
  }
  const std::size_t needed = static_cast<std::size_t>(std::max({ts_col, ctx_col, gen_col})) + 1;

  struct Row {
    core::Duration abs;
    int ctx, gen;
  };
  std::vector<Row> rows;
  std::string_view line;
  while (next_line(&line)) {
    if (Trim(line).empty()) continue;
    std::vector<Field> f = SplitCsv(line);
    if (f.size() < needed) {
      return core::InvalidArgument(where(line_no, line.size() + 1) + "expected " +
                                   std::to_string(needed) + " columns, found " +
                                   std::to_string(f.size()));
    }
    const Field& ts = f[static_cast<std::size_t>(ts_col)];
    core::Result<core::Duration> t = ts.text.find('-') != std::string_view::npos
                                         ? ParseTraceTimestamp(ts.text)
                                         : ParseNumberSeconds(ts.text);
    if (!t.ok()) {
      return core::InvalidArgument(where(line_no, ts.column) + "TIMESTAMP: " + t.error().message);
    }
    int counts[2];
    const int cols[2] = {ctx_col, gen_col};
    const char* names[2] = {"ContextTokens", "GeneratedTokens"};
    for (int k = 0; k < 2; ++k) {
      const Field& c = f[static_cast<std::size_t>(cols[k])];
      int v = 0;
      auto [ptr, ec] = std::from_chars(c.text.data(), c.text.data() + c.text.size(), v);
      if (c.text.empty() || ec != std::errc() || ptr != c.text.data() + c.text.size() || v < 0) {
        return core::InvalidArgument(where(line_no, c.column) + names[k] +
                                     ": expected a non-negative integer, found " + Quote(c.text));
      }
      counts[k] = v;
    }
    rows.push_back({*t, counts[0], counts[1]});
  }
  if (rows.empty()) {
    return core::InvalidArgument(where(line_no + 1, 1) + "the trace has no requests");
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.abs < b.abs; });
  Trace trace;
  trace.records.reserve(rows.size());
  for (const Row& r : rows) {
    trace.records.push_back({r.abs - rows.front().abs, r.ctx, r.gen});
  }
  return trace;
}

core::Result<Trace> ReadAzureTrace(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::NotFound(path + ": cannot open the trace file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ParseAzureTrace(ss.str(), path);
}

}  // namespace gpuscale::load

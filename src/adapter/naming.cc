#include "adapter/naming.h"

#include <re2/re2.h>

#include <cctype>

namespace gpuscale::adapter {
namespace {

bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Go's regexp extract(): parses "$name" or "${name}" at the start of `s` (after the '$').
// Returns false when malformed. `num` is the group number when the name is all digits.
bool Extract(std::string_view s, std::string_view* name, int* num, std::size_t* consumed) {
  if (s.empty()) return false;
  bool brace = false;
  std::size_t i = 0;
  if (s[0] == '{') {
    brace = true;
    i = 1;
  }
  std::size_t start = i;
  while (i < s.size() && IsNameChar(s[i])) ++i;
  if (i == start) return false;  // empty name is not OK
  *name = s.substr(start, i - start);
  if (brace) {
    if (i >= s.size() || s[i] != '}') return false;
    ++i;
  }
  *consumed = i;
  *num = 0;
  for (char c : *name) {
    if (c < '0' || c > '9' || *num >= 100000000) {
      *num = -1;
      break;
    }
    *num = *num * 10 + (c - '0');
  }
  // Go disallows leading zeros.
  if ((*name)[0] == '0' && name->size() > 1) *num = -1;
  return true;
}

}  // namespace

void GoExpand(std::string_view tmpl, const re2::RE2& re,
              const std::vector<std::optional<std::string_view>>& groups, std::string* out) {
  const auto& named = re.NamedCapturingGroups();
  while (!tmpl.empty()) {
    std::size_t dollar = tmpl.find('$');
    if (dollar == std::string_view::npos) break;
    out->append(tmpl.substr(0, dollar));
    tmpl.remove_prefix(dollar + 1);
    if (!tmpl.empty() && tmpl[0] == '$') {
      out->push_back('$');
      tmpl.remove_prefix(1);
      continue;
    }
    std::string_view name;
    int num = 0;
    std::size_t consumed = 0;
    if (!Extract(tmpl, &name, &num, &consumed)) {
      out->push_back('$');  // malformed: keep the '$' as text
      continue;
    }
    tmpl.remove_prefix(consumed);
    int index = -1;
    if (num >= 0) {
      index = num;
    } else {
      auto it = named.find(std::string(name));
      if (it != named.end()) index = it->second;
    }
    if (index >= 0 && static_cast<std::size_t>(index) < groups.size() && groups[index]) {
      out->append(*groups[index]);
    }
  }
  out->append(tmpl);
}

std::vector<std::string> AsTemplateWarnings(std::string_view as) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < as.size(); ++i) {
    if (as[i] != '$') continue;
    if (i + 1 < as.size() && as[i + 1] == '$') {
      ++i;
      continue;
    }
    std::size_t j = i + 1;
    while (j < as.size() && std::isdigit(static_cast<unsigned char>(as[j]))) ++j;
    if (j == i + 1 || j >= as.size() || !IsNameChar(as[j])) continue;
    std::size_t k = j;
    while (k < as.size() && IsNameChar(as[k])) ++k;
    std::string ref(as.substr(i + 1, k - i - 1));
    std::string digits(as.substr(i + 1, j - i - 1));
    out.push_back("\"$" + ref + "\" refers to a group named \"" + ref +
                  "\", which expands to \"\"; write \"${" + digits + "}" +
                  std::string(as.substr(j, k - j)) + "\"");
    i = k - 1;
  }
  return out;
}

NameMatcher::NameMatcher(NameMatcher&&) noexcept = default;
NameMatcher& NameMatcher::operator=(NameMatcher&&) noexcept = default;
NameMatcher::~NameMatcher() = default;

core::Result<NameMatcher> NameMatcher::Create(const NameMapping& mapping) {
  NameMatcher m;
  const std::string pattern = mapping.matches.empty() ? ".*" : mapping.matches;
  m.re_ = std::make_unique<re2::RE2>(pattern, re2::RE2::Quiet);
  if (!m.re_->ok()) {
    return core::InvalidArgument("unable to compile series name match expression \"" + pattern +
                                 "\": " + m.re_->error());
  }
  m.as_ = mapping.as;
  if (m.as_.empty()) {
    switch (m.re_->NumberOfCapturingGroups()) {
      case 0:
        m.as_ = "$0";
        break;
      case 1:
        m.as_ = "$1";
        break;
      default:
        return core::InvalidArgument(
            "must specify an 'as' value for name matcher \"" + pattern + "\": it has " +
            std::to_string(m.re_->NumberOfCapturingGroups()) + " capture groups");
    }
  }
  return m;
}

std::optional<std::string> NameMatcher::MetricName(std::string_view series_name) const {
  const int n = re_->NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> sub(static_cast<std::size_t>(n));
  if (!re_->Match(series_name, 0, series_name.size(), re2::RE2::UNANCHORED, sub.data(), n)) {
    return std::nullopt;
  }
  std::vector<std::optional<std::string_view>> groups(sub.size());
  for (std::size_t i = 0; i < sub.size(); ++i) {
    if (sub[i].data() != nullptr) groups[i] = std::string_view(sub[i].data(), sub[i].size());
  }
  std::string out;
  GoExpand(as_, *re_, groups, &out);
  return out;
}

struct SeriesFilterSet::Filter {
  std::unique_ptr<re2::RE2> re;
  bool is = true;
};

SeriesFilterSet::SeriesFilterSet(SeriesFilterSet&&) noexcept = default;
SeriesFilterSet& SeriesFilterSet::operator=(SeriesFilterSet&&) noexcept = default;
SeriesFilterSet::~SeriesFilterSet() = default;

core::Result<SeriesFilterSet> SeriesFilterSet::Create(const std::vector<SeriesFilter>& filters,
                                                      std::string_view name_matches) {
  SeriesFilterSet set;
  auto add = [&](const std::string& pattern, bool is) -> core::Status {
    Filter f;
    f.re = std::make_unique<re2::RE2>(pattern, re2::RE2::Quiet);
    f.is = is;
    if (!f.re->ok()) {
      return core::InvalidArgument("invalid series filter \"" + pattern + "\": " + f.re->error());
    }
    set.filters_.push_back(std::move(f));
    return core::Status::Ok();
  };
  for (const auto& f : filters) GPUSCALE_RETURN_IF_ERROR(add(f.pattern, f.is));
  if (!name_matches.empty()) GPUSCALE_RETURN_IF_ERROR(add(std::string(name_matches), true));
  return set;
}

bool SeriesFilterSet::Passes(std::string_view series_name) const {
  for (const auto& f : filters_) {
    if (re2::RE2::PartialMatch(series_name, *f.re) != f.is) return false;
  }
  return true;
}

}  // namespace gpuscale::adapter

#include "hpa/quantity.h"

#include <cctype>
#include <limits>

namespace gpuscale::hpa {
namespace {

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

int64_t Saturate(i128 v) {
  if (v > kMax) return kMax;
  if (v < kMin) return kMin;
  return static_cast<int64_t>(v);
}

core::Error Bad(std::string_view text, std::string_view why) {
  return core::InvalidArgument("invalid quantity '" + std::string(text) + "': " + std::string(why));
}

}  // namespace

core::Result<int64_t> ParseMilliQuantity(std::string_view text) {
  std::string_view s = text;
  if (s.empty()) return Bad(text, "empty");
  bool negative = false;
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  // Mantissa digits; once more than 36 significant digits are read, further integer digits only
  // scale the value (saturation follows) and further fraction digits only matter for rounding up.
  i128 mantissa = 0;
  int exp10 = 0;
  int digits = 0;
  int significant = 0;
  bool seen_dot = false;
  bool truncated_nonzero = false;
  size_t i = 0;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.') {
      if (seen_dot) return Bad(text, "more than one '.'");
      seen_dot = true;
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(c))) break;
    ++digits;
    if (significant < 36) {
      mantissa = mantissa * 10 + (c - '0');
      if (mantissa != 0) ++significant;
      if (seen_dot) --exp10;
    } else {
      if (!seen_dot) ++exp10;
      if (seen_dot && c != '0') truncated_nonzero = true;
    }
  }
  if (digits == 0) return Bad(text, "expected a number");
  std::string_view suffix = s.substr(i);
  int exp2 = 0;
  if (suffix.empty()) {
  } else if (suffix == "n") {
    exp10 -= 9;
  } else if (suffix == "u") {
    exp10 -= 6;
  } else if (suffix == "m") {
    exp10 -= 3;
  } else if (suffix == "k") {
    exp10 += 3;
  } else if (suffix == "M") {
    exp10 += 6;
  } else if (suffix == "G") {
    exp10 += 9;
  } else if (suffix == "T") {
    exp10 += 12;
  } else if (suffix == "P") {
    exp10 += 15;
  } else if (suffix == "E") {
    exp10 += 18;
  } else if (suffix.size() == 2 && suffix[1] == 'i') {
    static constexpr std::string_view kBinary = "KMGTPE";
    size_t pos = kBinary.find(suffix[0]);
    if (pos == std::string_view::npos)
      return Bad(text, "unknown suffix '" + std::string(suffix) + "'");
    exp2 = 10 * static_cast<int>(pos + 1);
  } else if (suffix[0] == 'e' || suffix[0] == 'E') {
    std::string_view e = suffix.substr(1);
    bool eneg = false;
    if (!e.empty() && (e[0] == '+' || e[0] == '-')) {
      eneg = e[0] == '-';
      e.remove_prefix(1);
    }
    if (e.empty() || e.size() > 4) return Bad(text, "bad exponent '" + std::string(suffix) + "'");
    int ev = 0;
    for (char c : e) {
      if (!std::isdigit(static_cast<unsigned char>(c))) {
        return Bad(text, "bad exponent '" + std::string(suffix) + "'");
      }
      ev = ev * 10 + (c - '0');
    }
    exp10 += eneg ? -ev : ev;
  } else {
    return Bad(text, "unknown suffix '" + std::string(suffix) + "'");
  }
  // value * 1000 = mantissa * 10^(exp10 + 3) * 2^exp2, rounded up.
  int e = exp10 + 3;
  i128 v = mantissa;
  bool inexact = truncated_nonzero;
  constexpr i128 kLimit = static_cast<i128>(1) << 100;
  for (int k = 0; k < exp2 && v < kLimit; ++k) v *= 2;
  for (; e > 0 && v < kLimit; --e) v *= 10;
  if (e > 0 && v != 0) v = kLimit;
  for (; e < 0; ++e) {
    if (v % 10 != 0) inexact = true;
    v /= 10;
    if (v == 0) {
      inexact = inexact || mantissa != 0;
      break;
    }
  }
  if (negative) {
    v = -v;  // ceil of a negative value truncates toward zero: already done
  } else if (inexact) {
    v += 1;
  }
  return Saturate(v);
}

std::string FormatMilliQuantity(int64_t milli) {
  if (milli == 0) return "0";
  static constexpr const char* kSuffix[] = {"m", "", "k", "M", "G", "T", "P", "E"};
  i128 v = milli;
  int idx = 0;
  while (idx < 7 && v % 1000 == 0) {
    v /= 1000;
    ++idx;
  }
  bool neg = v < 0;
  u128 u = neg ? static_cast<u128>(-v) : static_cast<u128>(v);
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  } while (u != 0);
  return (neg ? "-" : "") + digits + kSuffix[idx];
}

std::string FormatMilliQuantityBinary(int64_t milli) {
  if (milli % 1000 != 0) return FormatMilliQuantity(milli);
  int64_t whole = milli / 1000;
  if (whole > -1024 && whole < 1024) return FormatMilliQuantity(milli);
  static constexpr const char* kSuffix[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  int idx = 0;
  while (idx < 6 && whole % 1024 == 0) {
    whole /= 1024;
    ++idx;
  }
  return std::to_string(whole) + kSuffix[idx];
}

}  // namespace gpuscale::hpa

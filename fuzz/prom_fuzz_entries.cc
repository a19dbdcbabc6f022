#include "prom_fuzz_entries.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "prom/api.h"
#include "prom/exposition.h"

namespace gpuscale::fuzz {
namespace {

[[noreturn]] void Fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "prom fuzz invariant broken: %s\n%.*s\n", what,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

bool SameValue(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || (a == b && std::signbit(a) == std::signbit(b));
}

bool SameFamilies(const std::vector<prom::MetricFamily>& a,
                  const std::vector<prom::MetricFamily>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].help != b[i].help || a[i].type != b[i].type ||
        a[i].samples.size() != b[i].samples.size()) {
      return false;
    }
    for (std::size_t j = 0; j < a[i].samples.size(); ++j) {
      const prom::Sample& x = a[i].samples[j];
      const prom::Sample& y = b[i].samples[j];
      if (x.name != y.name || x.labels != y.labels || !SameValue(x.value, y.value) ||
          x.timestamp_ms != y.timestamp_ms) {
        return false;
      }
    }
  }
  return true;
}

template <typename T>
void CheckError(const core::Result<T>& r, std::string_view data) {
  if (!r.ok() && r.error().message.empty()) Fail("error without a message", data);
}

}  // namespace

void PromTextOne(std::string_view data) {
  auto parsed = prom::ParseText(data);
  CheckError(parsed, data);
  if (!parsed.ok()) return;
  std::string rendered = prom::Render(*parsed);
  auto again = prom::ParseText(rendered);
  if (!again.ok()) Fail("rendered text does not parse", again.error().message + "\n" + rendered);
  if (!SameFamilies(*parsed, *again)) Fail("rendered text parses differently", rendered);
  if (prom::Render(*again) != rendered) Fail("rendering is not stable", rendered);
}

void PromJsonOne(std::string_view data) {
  CheckError(prom::DecodeQueryResponse(data), data);
  auto whole = prom::DecodeSeriesResponse(data);
  CheckError(whole, data);
  CheckError(prom::DecodeLabelsResponse(data), data);
  // The streaming series decoder must not depend on where the answer is cut.
  std::vector<prom::Labels> series;
  prom::SeriesDecoder decoder([&series](prom::Labels& l) { series.push_back(std::move(l)); });
  const std::size_t cut = data.empty() ? 0 : static_cast<unsigned char>(data[0]) % data.size();
  decoder.Feed(data.substr(0, cut));
  decoder.Feed(data.substr(cut));
  auto warnings = decoder.Finish();
  if (whole.ok() != warnings.ok()) Fail("series decoded in two pieces differ in success", data);
  if (!whole.ok() && whole.error() != warnings.error()) {
    Fail("series decoded in two pieces fail differently", data);
  }
  if (whole.ok() && (whole->series != series || whole->warnings != *warnings)) {
    Fail("series decoded in two pieces differ", data);
  }
}

}  // namespace gpuscale::fuzz

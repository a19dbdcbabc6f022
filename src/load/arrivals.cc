#include "load/arrivals.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <string>

#include "core/duration.h"

namespace gpuscale::load {
namespace {

class ProfileArrivals final : public ArrivalProcess {
 public:
  ProfileArrivals(std::vector<RateSegment> segments, bool poisson, core::Rng rng)
      : segments_(std::move(segments)), poisson_(poisson), rng_(std::move(rng)) {
    target_ = poisson_ ? rng_.Exponential(1.0) : 0.0;
  }

  std::optional<Arrival> Next() override {
    // Walk forward to the segment in which the cumulative rate reaches target_.
    while (true) {
      if (index_ >= segments_.size()) {
        double hold = segments_.empty() ? 0.0 : segments_.back().end_rate;
        if (!(hold > 0)) return std::nullopt;
        double t = seg_start_s_ + (target_ - cum_) / hold;
        return Emit(t);
      }
      const RateSegment& s = segments_[index_];
      double d = core::ToSeconds(s.duration);
      double total = d * (s.start_rate + s.end_rate) / 2;
      if (target_ < cum_ + total) {
        return Emit(seg_start_s_ + InverseWithin(s, d, target_ - cum_));
      }
      cum_ += total;
      seg_start_s_ += d;
      ++index_;
    }
  }

 private:
  // Time into a segment at which its cumulative rate reaches `l` (0 <= l <= its total).
  static double InverseWithin(const RateSegment& s, double d, double l) {
    if (l <= 0) return 0;
    double r0 = s.start_rate;
    double a = (s.end_rate - s.start_rate) / (2 * d);
    if (std::abs(a) < 1e-12) return l / r0;
    double disc = r0 * r0 + 4 * a * l;
    if (disc < 0) disc = 0;
    // The stable root of a t^2 + r0 t - l = 0.
    double denom = r0 + std::sqrt(disc);
    return denom > 0 ? 2 * l / denom : d;
  }

  Arrival Emit(double t) {
    target_ += poisson_ ? rng_.Exponential(1.0) : 1.0;
    Arrival a;
    a.offset = core::FromSeconds(t);
    if (a.offset < last_) a.offset = last_;  // rounding never reorders arrivals
    last_ = a.offset;
    return a;
  }

  std::vector<RateSegment> segments_;
  bool poisson_;
  core::Rng rng_;
  std::size_t index_ = 0;
  double seg_start_s_ = 0;  // start of segments_[index_]
  double cum_ = 0;          // cumulative rate at seg_start_s_
  double target_ = 0;       // cumulative rate at which the next arrival lands
  core::Duration last_{};
};

class GammaArrivals final : public ArrivalProcess {
 public:
  GammaArrivals(double rate, double shape, core::Rng rng)
      : dist_(shape, 1.0 / (rate * shape)), rng_(std::move(rng)) {}
  std::optional<Arrival> Next() override {
    t_ += dist_(rng_.engine());
    return Arrival{core::FromSeconds(t_)};
  }

 private:
  std::gamma_distribution<double> dist_;
  core::Rng rng_;
  double t_ = 0;
};

class TraceArrivals final : public ArrivalProcess {
 public:
  TraceArrivals(const Trace& trace, TraceReplayOptions options, core::Rng rng)
      : trace_(trace), options_(options), rng_(std::move(rng)) {}
  std::optional<Arrival> Next() override {
    while (copies_left_ == 0) {
      if (row_ >= trace_.records.size()) return std::nullopt;
      double whole = std::floor(options_.rate_scale);
      double frac = options_.rate_scale - whole;
      copies_left_ = static_cast<int>(whole) + (frac > 0 && rng_.Uniform() < frac ? 1 : 0);
      current_ = row_++;
    }
    --copies_left_;
    const TraceRecord& r = trace_.records[current_];
    Arrival a;
    a.offset = core::FromSeconds(core::ToSeconds(r.offset) * options_.time_scale);
    a.prompt_tokens = r.context_tokens;
    a.output_tokens = r.generated_tokens;
    return a;
  }

 private:
  const Trace& trace_;
  TraceReplayOptions options_;
  core::Rng rng_;
  std::size_t row_ = 0;
  std::size_t current_ = 0;
  int copies_left_ = 0;
};

constexpr auto kForever = core::Duration(std::numeric_limits<std::int64_t>::max() / 4);

}  // namespace

std::unique_ptr<ArrivalProcess> MakeProfileArrivals(std::vector<RateSegment> segments, bool poisson,
                                                    core::Rng rng) {
  return std::make_unique<ProfileArrivals>(std::move(segments), poisson, std::move(rng));
}

std::unique_ptr<ArrivalProcess> MakeConstantArrivals(double rate) {
  return MakeProfileArrivals({{kForever, rate, rate}}, false, core::Rng(0));
}

std::unique_ptr<ArrivalProcess> MakePoissonArrivals(double rate, core::Rng rng) {
  return MakeProfileArrivals({{kForever, rate, rate}}, true, std::move(rng));
}

std::unique_ptr<ArrivalProcess> MakeGammaArrivals(double rate, double burstiness, core::Rng rng) {
  return std::make_unique<GammaArrivals>(rate, burstiness, std::move(rng));
}

std::unique_ptr<ArrivalProcess> MakeRampArrivals(double from_rate, double to_rate,
                                                 core::Duration duration, bool poisson,
                                                 core::Rng rng) {
  return MakeProfileArrivals({{duration, from_rate, to_rate}}, poisson, std::move(rng));
}

std::unique_ptr<ArrivalProcess> MakeStepArrivals(const std::vector<RateStep>& steps, bool poisson,
                                                 core::Rng rng) {
  std::vector<RateSegment> segments;
  for (const RateStep& s : steps) segments.push_back({s.duration, s.rate, s.rate});
  return MakeProfileArrivals(std::move(segments), poisson, std::move(rng));
}

std::unique_ptr<ArrivalProcess> MakeTraceArrivals(const Trace& trace, TraceReplayOptions options,
                                                  core::Rng rng) {
  return std::make_unique<TraceArrivals>(trace, options, std::move(rng));
}

core::Result<std::vector<RateStep>> ParseSteps(std::string_view text) {
  std::vector<RateStep> steps;
  std::size_t start = 0;
  int index = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    std::string_view item = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    std::string where = "steps[" + std::to_string(index) + "] '" + std::string(item) + "': ";
    std::size_t colon = item.find(':');
    if (colon == std::string_view::npos) {
      return core::InvalidArgument(where + "expected RATE:DURATION (e.g. 5:30s)");
    }
    RateStep step;
    std::string_view rate = item.substr(0, colon);
    auto [ptr, ec] = std::from_chars(rate.data(), rate.data() + rate.size(), step.rate);
    if (rate.empty() || ec != std::errc() || ptr != rate.data() + rate.size() || step.rate < 0 ||
        !std::isfinite(step.rate)) {
      return core::InvalidArgument(where + "expected a non-negative rate before ':'");
    }
    core::Result<core::Duration> d = core::ParseDuration(item.substr(colon + 1));
    if (!d.ok()) return core::InvalidArgument(where + d.error().message);
    if (*d <= core::Duration::zero()) {
      return core::InvalidArgument(where + "expected a positive duration");
    }
    step.duration = *d;
    steps.push_back(step);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
    ++index;
  }
  return steps;
}

}  // namespace gpuscale::load

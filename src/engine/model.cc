#include "engine/model.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace gpuscale::engine {

EngineLimits ResolveLimits(const Profile& profile, const EngineOptions& options) {
  EngineLimits l;
  l.max_num_seqs = options.max_num_seqs > 0 ? options.max_num_seqs : profile.default_max_num_seqs;
  l.max_num_batched_tokens = options.max_num_batched_tokens > 0
                                 ? options.max_num_batched_tokens
                                 : profile.default_max_num_batched_tokens;
  l.block_size = options.block_size > 0 ? options.block_size : 16;
  l.num_gpu_blocks =
      options.num_gpu_blocks > 0 ? options.num_gpu_blocks : KvBlocks(profile, l.block_size);
  l.max_model_len = options.max_model_len > 0 ? options.max_model_len : profile.max_model_len;
  l.enable_chunked_prefill = options.enable_chunked_prefill;
  return l;
}

std::string_view FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kAbort:
      return "abort";
  }
  return "stop";
}

Engine::Engine(Profile profile, EngineOptions options)
    : profile_(std::move(profile)), limits_(ResolveLimits(profile_, options)) {
  counters_.total_blocks = limits_.num_gpu_blocks;
}

std::int64_t Engine::BlocksFor(std::int64_t tokens) const {
  return (tokens + limits_.block_size - 1) / limits_.block_size;
}

core::Status Engine::Add(const RequestSpec& request, Timestamp now) {
  if (request.prompt_tokens < 1 || request.output_tokens < 1) {
    return core::InvalidArgument(
        fmt::format("request {}: prompt_tokens and output_tokens must be >= 1, found {} and {}",
                    request.id, request.prompt_tokens, request.output_tokens));
  }
  std::int64_t total = std::int64_t{request.prompt_tokens} + request.output_tokens;
  if (total > limits_.max_model_len) {
    return core::InvalidArgument(fmt::format(
        "request {}: prompt ({}) + output ({}) tokens exceed max_model_len {}", request.id,
        request.prompt_tokens, request.output_tokens, limits_.max_model_len));
  }
  if (BlocksFor(total) > limits_.num_gpu_blocks) {
    return core::ResourceExhausted(fmt::format("request {}: needs {} KV blocks, the cache has {}",
                                               request.id, BlocksFor(total),
                                               limits_.num_gpu_blocks));
  }
  if (!limits_.enable_chunked_prefill && total > limits_.max_num_batched_tokens) {
    return core::InvalidArgument(fmt::format(
        "request {}: {} tokens exceed max_num_batched_tokens {} with chunked prefill off",
        request.id, total, limits_.max_num_batched_tokens));
  }
  auto [it, inserted] = seqs_.try_emplace(request.id);
  if (!inserted) {
    return core::InvalidArgument(fmt::format("request {}: id already in use", request.id));
  }
  it->second.spec = request;
  it->second.arrival = now;
  waiting_.push_back(request.id);
  return core::Status::Ok();
}

bool Engine::Allocate(Seq& seq, std::int64_t tokens) {
  std::int64_t need = BlocksFor(tokens) - seq.blocks;
  if (need <= 0) return true;
  if (used_blocks_ + need > limits_.num_gpu_blocks) return false;
  used_blocks_ += need;
  seq.blocks += need;
  return true;
}

void Engine::Free(Seq& seq) {
  used_blocks_ -= seq.blocks;
  seq.blocks = 0;
}

void Engine::Preempt(std::size_t running_index, Timestamp now) {
  (void)now;
  RequestId id = running_[running_index];
  Seq& seq = seqs_.at(id);
  Free(seq);
  seq.num_computed = 0;  // recompute: the KV is rebuilt from prompt + generated tokens
  seq.scheduled_now = 0;
  seq.running = false;
  ++seq.preemptions;
  ++counters_.preemptions_total;
  running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(running_index));
  waiting_.push_front(id);
  result_.preempted.push_back(id);
}

FinishedRequest Engine::Record(const Seq& seq, FinishReason reason, Timestamp when) const {
  FinishedRequest f;
  f.id = seq.spec.id;
  f.reason = reason;
  f.prompt_tokens = seq.spec.prompt_tokens;
  f.output_tokens = seq.num_output;
  f.arrival = seq.arrival;
  f.scheduled = seq.scheduled;
  f.first_token = seq.first_token;
  f.finished = when;
  f.preemptions = seq.preemptions;
  return f;
}

std::optional<FinishedRequest> Engine::Abort(RequestId id, Timestamp now) {
  auto it = seqs_.find(id);
  if (it == seqs_.end()) return std::nullopt;
  Seq& seq = it->second;
  if (seq.running) {
    running_.erase(std::find(running_.begin(), running_.end(), id));
  } else {
    waiting_.erase(std::find(waiting_.begin(), waiting_.end(), id));
  }
  Free(seq);
  FinishedRequest f = Record(seq, FinishReason::kAbort, now);
  seqs_.erase(it);
  return f;
}

Duration Engine::StepTime(int prefill_tokens, int decode_seqs, std::int64_t context_tokens) const {
  double s = profile_.step_overhead_s + profile_.weight_read_s +
             prefill_tokens * profile_.prefill_per_token_s +
             decode_seqs * profile_.decode_per_seq_s +
             static_cast<double>(context_tokens) * profile_.kv_read_per_token_s;
  return Duration(static_cast<Duration::rep>(std::llround(s * 1e9)));
}

const StepResult& Engine::Step(Timestamp now) {
  StepResult& r = result_;
  r.start = now;
  r.duration = Duration(0);
  r.num_scheduled_seqs = 0;
  r.prefill_tokens = 0;
  r.decode_tokens = 0;
  r.context_tokens = 0;
  r.tokens.clear();
  r.finished.clear();
  r.preempted.clear();
  r.started.clear();

  int budget = limits_.max_num_batched_tokens;
  int decode_seqs = 0;
  auto schedule = [&](Seq& seq, int n) {
    int prompt = seq.spec.prompt_tokens;
    bool decoding = seq.num_computed >= prompt && n == 1;
    seq.scheduled_now = n;
    budget -= n;
    ++r.num_scheduled_seqs;
    if (decoding) {
      ++decode_seqs;
      ++r.decode_tokens;
    } else {
      r.prefill_tokens += n;
    }
    r.context_tokens += seq.num_computed + n;
  };

  // 1. The running set, in order, while the token budget lasts. When the cache cannot hold a
  //    request's next tokens, the lowest-priority running request (the last) is preempted,
  //    possibly the request itself (vLLM V1's recompute preemption).
  for (std::size_t i = 0; i < running_.size() && budget > 0;) {
    Seq& seq = seqs_.at(running_[i]);
    int known = seq.spec.prompt_tokens + seq.num_output;
    int n = std::min(known - seq.num_computed, budget);
    bool self_preempted = false;
    while (!Allocate(seq, std::int64_t{seq.num_computed} + n)) {
      std::size_t victim = running_.size() - 1;
      Preempt(victim, now);
      if (victim == i) {
        self_preempted = true;
        break;
      }
    }
    if (self_preempted) break;
    schedule(seq, n);
    ++i;
  }

  // 2. Admission from the waiting queue (FCFS), unless this step had to preempt.
  if (r.preempted.empty()) {
    while (!waiting_.empty() && budget > 0 &&
           static_cast<int>(running_.size()) < limits_.max_num_seqs) {
      Seq& seq = seqs_.at(waiting_.front());
      int need = seq.spec.prompt_tokens + seq.num_output - seq.num_computed;
      int n = need;
      if (n > budget) {
        if (!limits_.enable_chunked_prefill) break;
        n = budget;
      }
      if (!Allocate(seq, std::int64_t{seq.num_computed} + n)) break;
      waiting_.pop_front();
      running_.push_back(seq.spec.id);
      seq.running = true;
      seq.scheduled = now;
      r.started.push_back(seq.spec.id);
      schedule(seq, n);
    }
  }

  r.duration = StepTime(r.prefill_tokens, decode_seqs, r.context_tokens);
  if (r.num_scheduled_seqs == 0) return r;  // nothing fits; the caller sees an idle step

  // Activity fractions: time split into compute, memory and overhead parts.
  {
    double compute =
        r.prefill_tokens * profile_.prefill_per_token_s + decode_seqs * profile_.decode_per_seq_s;
    double memory = profile_.weight_read_s +
                    static_cast<double>(r.context_tokens) * profile_.kv_read_per_token_s;
    double overhead = profile_.step_overhead_s;
    double total = compute + memory + overhead;
    const auto& c = profile_.compute_activity;
    const auto& m = profile_.memory_activity;
    const auto& o = profile_.overhead_activity;
    if (total > 0) {
      r.activity.sm = (compute * c.sm + memory * m.sm + overhead * o.sm) / total;
      r.activity.tensor = (compute * c.tensor + memory * m.tensor + overhead * o.tensor) / total;
      r.activity.dram = (compute * c.dram + memory * m.dram + overhead * o.dram) / total;
    }
  }

  // 3. The step's outcome, which happens at its end.
  Timestamp end = r.end();
  std::size_t kept = 0;
  for (std::size_t i = 0; i < running_.size(); ++i) {
    RequestId id = running_[i];
    Seq& seq = seqs_.at(id);
    bool done = false;
    if (seq.scheduled_now > 0) {
      seq.num_computed += seq.scheduled_now;
      seq.scheduled_now = 0;
      if (seq.num_computed == seq.spec.prompt_tokens + seq.num_output) {
        bool first = seq.num_output == 0;
        ++seq.num_output;
        ++counters_.generation_tokens_total;
        if (first) {
          seq.first_token = end;
          counters_.prompt_tokens_total += static_cast<std::uint64_t>(seq.spec.prompt_tokens);
        }
        r.tokens.push_back(TokenEvent{id, 1, first, end - (first ? seq.arrival : seq.last_token)});
        seq.last_token = end;
        if (seq.num_output >= seq.spec.output_tokens) {
          Free(seq);
          r.finished.push_back(Record(seq, seq.spec.finish_reason, end));
          done = true;
        }
      }
    }
    if (done) {
      seqs_.erase(id);
    } else {
      running_[kept++] = id;
    }
  }
  running_.resize(kept);

  ++counters_.steps_total;
  counters_.busy_total += r.duration;
  return r;
}

EngineStats Engine::stats() const {
  EngineStats s = counters_;
  s.num_running = static_cast<int>(running_.size());
  s.num_waiting = static_cast<int>(waiting_.size());
  s.used_blocks = used_blocks_;
  s.total_blocks = limits_.num_gpu_blocks;
  s.kv_usage = limits_.num_gpu_blocks > 0
                   ? static_cast<double>(used_blocks_) / static_cast<double>(limits_.num_gpu_blocks)
                   : 0.0;
  return s;
}

double Engine::memory_used_bytes() const {
  return profile_.weight_bytes +
         static_cast<double>(used_blocks_) * limits_.block_size * profile_.kv_bytes_per_token;
}

// ---- Output length ------------------------------------------------------------------------

std::string OutputLengthDist::ToString() const {
  switch (kind) {
    case Kind::kFixed:
      return fmt::format("fixed:{}", a);
    case Kind::kUniform:
      return fmt::format("uniform:{}:{}", a, b);
    case Kind::kNormal:
      return fmt::format("normal:{}:{}", a, b);
    case Kind::kLogNormal:
      return fmt::format("lognormal:{}:{}", a, b);
    case Kind::kExponential:
      return fmt::format("exponential:{}", a);
  }
  return "";
}

core::Result<OutputLengthDist> ParseOutputLengthDist(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t pos = 0;
  while (true) {
    std::size_t colon = text.find(':', pos);
    parts.push_back(text.substr(pos, colon == std::string_view::npos ? colon : colon - pos));
    if (colon == std::string_view::npos) break;
    pos = colon + 1;
  }
  auto fail = [&](std::string_view why) -> core::Error {
    return core::InvalidArgument(
        fmt::format("output length distribution '{}': {} (expected fixed:N, uniform:LO:HI, "
                    "normal:MEAN:STDDEV, lognormal:MU:SIGMA or exponential:MEAN)",
                    text, why));
  };
  OutputLengthDist d;
  std::string_view kind = parts[0];
  std::size_t want = 0;
  if (kind == "fixed") {
    d.kind = OutputLengthDist::Kind::kFixed, want = 1;
  } else if (kind == "uniform") {
    d.kind = OutputLengthDist::Kind::kUniform, want = 2;
  } else if (kind == "normal") {
    d.kind = OutputLengthDist::Kind::kNormal, want = 2;
  } else if (kind == "lognormal") {
    d.kind = OutputLengthDist::Kind::kLogNormal, want = 2;
  } else if (kind == "exponential") {
    d.kind = OutputLengthDist::Kind::kExponential, want = 1;
  } else {
    return fail(fmt::format("unknown kind '{}'", kind));
  }
  if (parts.size() != want + 1) {
    return fail(fmt::format("'{}' takes {} number(s), found {}", kind, want, parts.size() - 1));
  }
  double values[2] = {0, 0};
  for (std::size_t i = 0; i < want; ++i) {
    std::string_view p = parts[i + 1];
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), values[i]);
    if (ec != std::errc() || end != p.data() + p.size() || !std::isfinite(values[i])) {
      return fail(fmt::format("expected a number, found '{}'", p));
    }
  }
  d.a = values[0];
  d.b = want == 2 ? values[1] : 0;
  if (d.kind != OutputLengthDist::Kind::kLogNormal && d.a < 0) {
    return fail("the first number must be >= 0");
  }
  if (want == 2 && d.b < 0) return fail("the second number must be >= 0");
  if (d.kind == OutputLengthDist::Kind::kUniform && d.b < d.a) return fail("HI must be >= LO");
  if (d.kind == OutputLengthDist::Kind::kExponential && d.a <= 0) return fail("MEAN must be > 0");
  return d;
}

OutputLength ChooseOutputLength(const OutputLengthDist& dist, core::Rng& rng,
                                std::optional<int> max_tokens, bool ignore_eos, int limit) {
  int cap = std::max(1, max_tokens ? std::min(*max_tokens, limit) : limit);
  if (ignore_eos) return {cap, FinishReason::kLength};
  double x = 0;
  switch (dist.kind) {
    case OutputLengthDist::Kind::kFixed:
      x = dist.a;
      break;
    case OutputLengthDist::Kind::kUniform:
      x = static_cast<double>(rng.UniformInt(static_cast<std::int64_t>(std::llround(dist.a)),
                                             static_cast<std::int64_t>(std::llround(dist.b))));
      break;
    case OutputLengthDist::Kind::kNormal:
      x = rng.Normal(dist.a, dist.b);
      break;
    case OutputLengthDist::Kind::kLogNormal:
      x = rng.LogNormal(dist.a, dist.b);
      break;
    case OutputLengthDist::Kind::kExponential:
      x = rng.Exponential(1.0 / dist.a);
      break;
  }
  double eos = std::max(1.0, std::round(x));
  if (eos > cap) return {cap, FinishReason::kLength};
  return {static_cast<int>(eos), FinishReason::kStop};
}

}  // namespace gpuscale::engine

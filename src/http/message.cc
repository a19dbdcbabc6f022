#include "http/message.h"

#include <algorithm>
#include <charconv>
#include <set>

namespace gpuscale::http {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whether a route registered for `route_method` serves `method`. "*" serves every method and
// GET routes also serve HEAD (the server drops the body).
bool MethodMatches(std::string_view route_method, std::string_view method) {
  return route_method == "*" || route_method == method ||
         (method == "HEAD" && route_method == "GET");
}

}  // namespace

std::optional<std::string_view> Headers::Get(std::string_view name) const {
  for (const auto& [k, v] : fields_) {
    if (EqualsIgnoreCase(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

std::vector<std::string_view> Headers::GetAll(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : fields_) {
    if (EqualsIgnoreCase(k, name)) out.emplace_back(v);
  }
  return out;
}

void Headers::Set(std::string name, std::string value) {
  Remove(name);
  fields_.emplace_back(std::move(name), std::move(value));
}

void Headers::Add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void Headers::Remove(std::string_view name) {
  std::erase_if(fields_, [&](const auto& f) { return EqualsIgnoreCase(f.first, name); });
}

std::string Request::Path() const {
  std::string_view t = target;
  t = t.substr(0, t.find_first_of("?#"));
  return PercentDecode(t);
}

std::string_view Request::RawQuery() const {
  std::string_view t = target;
  auto q = t.find('?');
  if (q == std::string_view::npos) return {};
  t.remove_prefix(q + 1);
  return t.substr(0, t.find('#'));
}

std::optional<std::string> Request::QueryParam(std::string_view name) const {
  std::string_view q = RawQuery();
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string key = PercentDecode(pair.substr(0, eq), /*plus_is_space=*/true);
    if (key != name) continue;
    if (eq == std::string_view::npos) return std::string();
    return PercentDecode(pair.substr(eq + 1), /*plus_is_space=*/true);
  }
  return std::nullopt;
}

Response Response::Text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.headers.Set("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

Request Request::PostJson(std::string body) {
  Request r;
  r.method = "POST";
  r.headers.Set("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

Response Response::Json(int status, std::string body) {
  return Text(status, std::move(body), "application/json");
}

Response Response::EventStream(std::function<void(std::shared_ptr<Stream>)> start) {
  Response r;
  r.status = 200;
  r.headers.Set("Content-Type", "text/event-stream");
  r.headers.Set("Cache-Control", "no-cache");
  r.headers.Set("X-Accel-Buffering", "no");
  r.stream = std::move(start);
  return r;
}

std::string SseEvent(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 8);
  while (true) {
    auto nl = payload.find('\n');
    std::string_view line = payload.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out += "data: ";
    out += line;
    out += '\n';
    if (nl == std::string_view::npos) break;
    payload.remove_prefix(nl + 1);
  }
  out += '\n';
  return out;
}

Handler Sync(std::function<Response(const Request&)> fn) {
  return [fn = std::move(fn)](Request request, Reply reply) { reply(fn(request)); };
}

Router& Router::Handle(std::string method, std::string path, Handler handler) {
  routes_.push_back(Route{std::move(method), std::move(path), false, std::move(handler)});
  return *this;
}

Router& Router::HandlePrefix(std::string method, std::string prefix, Handler handler) {
  routes_.push_back(Route{std::move(method), std::move(prefix), true, std::move(handler)});
  return *this;
}

Handler Router::AsHandler() const {
  return [this](Request request, Reply reply) { Dispatch(std::move(request), std::move(reply)); };
}

void Router::Dispatch(Request request, Reply reply) const {
  const std::string path = request.Path();
  // The most specific route that matches both path and method wins: an exact path first, then
  // the longest prefix. A path that only other methods serve gets 405.
  const Route* best = nullptr;
  std::set<std::string> allow;
  for (const Route& r : routes_) {
    bool path_ok = r.prefix ? path.starts_with(r.path) : path == r.path;
    if (!path_ok) continue;
    if (!MethodMatches(r.method, request.method)) {
      allow.insert(r.method);
      if (r.method == "GET") allow.insert("HEAD");
      continue;
    }
    if (best == nullptr) {
      best = &r;
    } else if (best->prefix && (!r.prefix || r.path.size() > best->path.size())) {
      best = &r;
    }
  }
  if (best != nullptr) {
    best->handler(std::move(request), std::move(reply));
    return;
  }
  if (allow.empty()) {
    reply(Response::Text(404, "404 page not found: " + path + "\n"));
    return;
  }
  std::string allow_value;
  for (const auto& m : allow) {
    if (!allow_value.empty()) allow_value += ", ";
    allow_value += m;
  }
  Response r = Response::Text(405, "405 method " + request.method + " not allowed for " + path +
                                       "; allowed: " + allow_value + "\n");
  r.headers.Set("Allow", allow_value);
  reply(std::move(r));
}

std::string Url::Origin() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return scheme + "://" + h + ":" + std::to_string(port);
}

core::Result<Url> ParseUrl(std::string_view url) {
  auto fail = [&](std::string why) {
    return core::InvalidArgument("URL \"" + std::string(url) + "\": " + why);
  };
  Url out;
  auto colon = url.find("://");
  if (colon == std::string_view::npos) return fail("expected scheme://host, found no \"://\"");
  std::string scheme;
  for (char c : url.substr(0, colon)) scheme += Lower(c);
  if (scheme != "http" && scheme != "https") {
    return fail("expected scheme http or https, found \"" + scheme + "\"");
  }
  out.scheme = scheme;
  out.port = scheme == "https" ? 443 : 80;
  std::string_view rest = url.substr(colon + 3);
  auto auth_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, auth_end);
  std::string_view target =
      auth_end == std::string_view::npos ? std::string_view() : rest.substr(auth_end);
  if (authority.find('@') != std::string_view::npos) {
    return fail("user information in URLs is not supported");
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("expected ']' after an IPv6 address");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("expected ':' or end after ']'");
      port_text = after.substr(1);
      if (port_text.empty()) return fail("empty port");
    }
  } else {
    auto pc = authority.rfind(':');
    if (pc != std::string_view::npos) {
      port_text = authority.substr(pc + 1);
      authority = authority.substr(0, pc);
      if (port_text.empty()) return fail("empty port");
    }
    if (authority.find(':') != std::string_view::npos) {
      return fail("IPv6 addresses must be in brackets");
    }
    out.host = std::string(authority);
  }
  if (out.host.empty()) return fail("expected a host, found none");
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return fail("expected a port 1-65535, found \"" + std::string(port_text) + "\"");
    }
    out.port = static_cast<std::uint16_t>(port);
  }
  target = target.substr(0, target.find('#'));
  if (target.empty()) {
    out.target = "/";
  } else if (target.front() == '?') {
    out.target = "/" + std::string(target);
  } else {
    out.target = std::string(target);
  }
  return out;
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      int hi = HexValue(s[i + 1]);
      int lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plus_is_space && c == '+') ? ' ' : c;
  }
  return out;
}

}  // namespace gpuscale::http

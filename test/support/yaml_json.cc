#include "test/support/yaml_json.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <limits>
#include <regex>

namespace gpuscale::testing {
namespace {

namespace json = boost::json;

bool IsNull(const std::string& s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

// A plain scalar as the YAML 1.2 core schema resolves it (what sigs.k8s.io/yaml does for the
// forms that appear in manifests).
json::value PlainScalar(const std::string& s) {
  if (IsNull(s)) return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (std::regex_match(s, kInt)) {
    std::int64_t v = 0;
    const char* begin = s.data() + (s[0] == '+' ? 1 : 0);
    auto [end, ec] = std::from_chars(begin, s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size()) return v;
    return std::strtod(s.c_str(), nullptr);  // out of int64 range: a float, as Go reads it
  }
  if (std::regex_match(s, kFloat)) return std::strtod(s.c_str(), nullptr);
  if (s == ".inf" || s == "+.inf" || s == ".Inf" || s == "+.Inf") {
    return std::numeric_limits<double>::infinity();
  }
  if (s == "-.inf" || s == "-.Inf") return -std::numeric_limits<double>::infinity();
  return json::string(s);
}

core::Result<json::value> ToJson(const YAML::Node& node, std::string_view source) {
  auto where = [&](std::string_view what) {
    return core::InvalidArgument(
        fmt::format("{}:{}:{}: {}", source, node.Mark().line + 1, node.Mark().column + 1, what));
  };
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return json::value(nullptr);
    case YAML::NodeType::Scalar: {
      const std::string& tag = node.Tag();
      if (tag == "!" || tag == "!!str" || tag == "tag:yaml.org,2002:str") {
        return json::value(json::string(node.Scalar()));
      }
      if (tag == "?" || tag.empty()) return PlainScalar(node.Scalar());
      return where(fmt::format("unsupported tag {}", tag));
    }
    case YAML::NodeType::Sequence: {
      json::array a;
      for (const auto& item : node) {
        GPUSCALE_ASSIGN_OR_RETURN(json::value v, ToJson(item, source));
        a.push_back(std::move(v));
      }
      return json::value(std::move(a));
    }
    case YAML::NodeType::Map: {
      json::object o;
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) return where("expected a scalar mapping key");
        const std::string& key = kv.first.Scalar();
        if (o.contains(key)) return where(fmt::format("duplicate key '{}'", key));
        GPUSCALE_ASSIGN_OR_RETURN(json::value v, ToJson(kv.second, source));
        o.emplace(key, std::move(v));
      }
      return json::value(std::move(o));
    }
  }
  return where("unknown node type");
}

}  // namespace

core::Result<std::vector<std::string>> YamlDocumentsToJson(std::string_view yaml,
                                                           std::string_view source) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return core::InvalidArgument(
        fmt::format("{}:{}:{}: {}", source, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  std::vector<std::string> out;
  for (const auto& doc : docs) {
    if (doc.IsNull() || !doc.IsDefined()) continue;
    GPUSCALE_ASSIGN_OR_RETURN(json::value v, ToJson(doc, source));
    out.push_back(json::serialize(v));
  }
  return out;
}

}  // namespace gpuscale::testing

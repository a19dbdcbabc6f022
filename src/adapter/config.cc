#include "adapter/config.h"

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "adapter/naming.h"
#include "adapter/template.h"

namespace gpuscale::adapter {

std::string Where(std::string_view file, Position position) {
  std::string out(file);
  if (position.line > 0) {
    out += ":" + std::to_string(position.line) + ":" + std::to_string(position.column);
  }
  return out + ": ";
}

namespace {

Position PositionOf(const YAML::Node& node) {
  YAML::Mark m = node.Mark();
  if (m.line < 0) return {};
  return {m.line + 1, m.column + 1};
}

const char* KindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "nothing";
  }
}

class Loader {
 public:
  explicit Loader(std::string_view file) : file_(file) {}

  core::Error Fail(const YAML::Node& node, const std::string& path, const std::string& msg) const {
    return core::InvalidArgument(Where(file_, PositionOf(node)) +
                                 (path.empty() ? "" : path + ": ") + msg);
  }

  // Walks a mapping, rejecting unknown and duplicate keys. `fields` maps each known key to a
  // handler for its value.
  core::Status Mapping(
      const YAML::Node& node, const std::string& path,
      const std::map<std::string,
                     std::function<core::Status(const YAML::Node&, const std::string&)>>& fields)
      const {
    if (node.IsNull()) return core::Status::Ok();
    if (!node.IsMap())
      return Fail(node, path, std::string("expected a mapping, found ") + KindName(node));
    std::set<std::string> seen;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) return Fail(kv.first, path, "expected a string key");
      const std::string key = kv.first.Scalar();
      if (!seen.insert(key).second) return Fail(kv.first, path, "duplicate key \"" + key + "\"");
      auto it = fields.find(key);
      if (it == fields.end()) {
        std::string known;
        for (const auto& [k, unused] : fields) known += (known.empty() ? "" : ", ") + k;
        return Fail(kv.first, path,
                    "unknown field \"" + key + "\" (expected one of: " + known + ")");
      }
      GPUSCALE_RETURN_IF_ERROR(it->second(kv.second, path.empty() ? key : path + "." + key));
    }
    return core::Status::Ok();
  }

  core::Status String(const YAML::Node& node, const std::string& path, std::string* out,
                      Position* pos = nullptr) const {
    if (pos) *pos = PositionOf(node);
    if (node.IsNull()) {
      out->clear();
      return core::Status::Ok();
    }
    if (!node.IsScalar())
      return Fail(node, path, std::string("expected a string, found ") + KindName(node));
    *out = node.Scalar();
    return core::Status::Ok();
  }

  core::Status Bool(const YAML::Node& node, const std::string& path,
                    std::optional<bool>* out) const {
    bool b = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, b)) {
      return Fail(
          node, path,
          "expected true or false, found " +
              (node.IsScalar() ? "\"" + node.Scalar() + "\"" : std::string(KindName(node))));
    }
    *out = b;
    return core::Status::Ok();
  }

  core::Status Resources(const YAML::Node& node, const std::string& path, ResourceMapping* r,
                         bool allow_namespaced) const {
    std::map<std::string, std::function<core::Status(const YAML::Node&, const std::string&)>> f = {
        {"template",
         [&](const YAML::Node& n, const std::string& p) {
           return String(n, p, &r->template_text, &r->template_position);
         }},
        {"overrides",
         [&](const YAML::Node& n, const std::string& p) -> core::Status {
           if (n.IsNull()) return core::Status::Ok();
           if (!n.IsMap())
             return Fail(n, p, std::string("expected a mapping, found ") + KindName(n));
           std::set<std::string> seen;
           for (const auto& kv : n) {
             const std::string label = kv.first.Scalar();
             if (!seen.insert(label).second)
               return Fail(kv.first, p, "duplicate key \"" + label + "\"");
             GroupResource gr;
             const std::string sub = p + "." + label;
             GPUSCALE_RETURN_IF_ERROR(
                 Mapping(kv.second, sub,
                         {{"group", [&](const YAML::Node& v,
                                        const std::string& q) { return String(v, q, &gr.group); }},
                          {"resource", [&](const YAML::Node& v, const std::string& q) {
                             return String(v, q, &gr.resource);
                           }}}));
             if (gr.resource.empty()) return Fail(kv.second, sub, "override has no resource");
             r->overrides[label] = gr;
             r->override_positions[label] = PositionOf(kv.first);
           }
           return core::Status::Ok();
         }},
    };
    if (allow_namespaced) {
      f["namespaced"] = [&](const YAML::Node& n, const std::string& p) {
        return Bool(n, p, &r->namespaced);
      };
    }
    return Mapping(node, path, f);
  }

  core::Status Rule(const YAML::Node& node, const std::string& path, DiscoveryRule* rule) const {
    rule->position = PositionOf(node);
    rule->where = path;
    return Mapping(
        node, path,
        {{"seriesQuery", [&](const YAML::Node& n,
                             const std::string& p) { return String(n, p, &rule->series_query); }},
         {"seriesFilters",
          [&](const YAML::Node& n, const std::string& p) -> core::Status {
            if (n.IsNull()) return core::Status::Ok();
            if (!n.IsSequence())
              return Fail(n, p, std::string("expected a sequence, found ") + KindName(n));
            for (std::size_t i = 0; i < n.size(); ++i) {
              const std::string ip = p + "[" + std::to_string(i) + "]";
              std::string is, is_not;
              Position is_pos, is_not_pos;
              bool has_is = false, has_is_not = false;
              GPUSCALE_RETURN_IF_ERROR(
                  Mapping(n[i], ip,
                          {{"is",
                            [&](const YAML::Node& v, const std::string& q) {
                              has_is = true;
                              return String(v, q, &is, &is_pos);
                            }},
                           {"isNot", [&](const YAML::Node& v, const std::string& q) {
                              has_is_not = true;
                              return String(v, q, &is_not, &is_not_pos);
                            }}}));
              has_is = has_is && !is.empty();
              has_is_not = has_is_not && !is_not.empty();
              if (has_is == has_is_not) {
                return Fail(
                    n[i], ip,
                    has_is ? "cannot have both an is (" + is + ") and an isNot (" + is_not + ")"
                           : "must have either an is or an isNot");
              }
              rule->series_filters.push_back(
                  SeriesFilter{has_is, has_is ? is : is_not, has_is ? is_pos : is_not_pos});
            }
            return core::Status::Ok();
          }},
         {"resources",
          [&](const YAML::Node& n, const std::string& p) {
            return Resources(n, p, &rule->resources, true);
          }},
         {"name",
          [&](const YAML::Node& n, const std::string& p) {
            return Mapping(n, p,
                           {{"matches",
                             [&](const YAML::Node& v, const std::string& q) {
                               return String(v, q, &rule->name.matches,
                                             &rule->name.matches_position);
                             }},
                            {"as", [&](const YAML::Node& v, const std::string& q) {
                               return String(v, q, &rule->name.as, &rule->name.as_position);
                             }}});
          }},
         {"metricsQuery", [&](const YAML::Node& n, const std::string& p) {
            return String(n, p, &rule->metrics_query, &rule->metrics_query_position);
          }}});
  }

  core::Status ResourceRuleNode(const YAML::Node& node, const std::string& path,
                                ResourceRule* r) const {
    return Mapping(
        node, path,
        {{"containerQuery",
          [&](const YAML::Node& n, const std::string& p) {
            return String(n, p, &r->container_query);
          }},
         {"nodeQuery",
          [&](const YAML::Node& n, const std::string& p) { return String(n, p, &r->node_query); }},
         {"resources", [&](const YAML::Node& n,
                           const std::string& p) { return Resources(n, p, &r->resources, false); }},
         {"containerLabel", [&](const YAML::Node& n, const std::string& p) {
            return String(n, p, &r->container_label);
          }}});
  }

  core::Status Rules(const YAML::Node& node, const std::string& key,
                     std::vector<DiscoveryRule>* out) const {
    if (node.IsNull()) return core::Status::Ok();
    if (!node.IsSequence())
      return Fail(node, key, std::string("expected a sequence, found ") + KindName(node));
    for (std::size_t i = 0; i < node.size(); ++i) {
      DiscoveryRule rule;
      GPUSCALE_RETURN_IF_ERROR(Rule(node[i], key + "[" + std::to_string(i) + "]", &rule));
      out->push_back(std::move(rule));
    }
    return core::Status::Ok();
  }

 private:
  std::string file_;
};

// Checks what the real adapter checks when it builds its namers, plus the template syntax of
// every metricsQuery (the real adapter also fails at start-up on those).
core::Status Validate(Config& config, const DiscoveryRule& rule) {
  const std::string& file = config.file;
  auto fail = [&](Position pos, const std::string& field, const std::string& msg) {
    return core::InvalidArgument(Where(file, pos.line ? pos : rule.position) + rule.where +
                                 (field.empty() ? "" : "." + field) + ": " + msg);
  };
  for (std::size_t i = 0; i < rule.series_filters.size(); ++i) {
    const auto& f = rule.series_filters[i];
    RE2 re(f.pattern, RE2::Quiet);
    if (!re.ok()) {
      return fail(f.position, "seriesFilters[" + std::to_string(i) + "]." + (f.is ? "is" : "isNot"),
                  "invalid regular expression \"" + f.pattern + "\": " + re.error());
    }
  }
  if (rule.series_query.empty()) return fail(rule.position, "seriesQuery", "seriesQuery is empty");
  if (!rule.resources.template_text.empty()) {
    auto t = Template::Parse(rule.resources.template_text);
    if (!t.ok())
      return fail(rule.resources.template_position, "resources.template",
                  "unable to parse label template: " + t.error().message);
    if (rule.resources.template_text.find(".Resource") == std::string::npos) {
      return fail(rule.resources.template_position, "resources.template",
                  "must include at least <<.Resource>> in the label template");
    }
  }
  auto namer = NameMatcher::Create(rule.name);
  if (!namer.ok()) {
    Position pos = rule.name.matches_position.line ? rule.name.matches_position : rule.position;
    return fail(pos, "name", namer.error().message);
  }
  for (const auto& w : AsTemplateWarnings(rule.name.as)) {
    config.warnings.push_back(Where(file, rule.name.as_position) + rule.where + ".name.as: " + w);
  }
  if (rule.metrics_query.empty()) {
    return fail(rule.position, "metricsQuery",
                "metricsQuery is empty: every query for this rule would fail");
  }
  auto q = Template::Parse(rule.metrics_query);
  if (!q.ok()) {
    return fail(rule.metrics_query_position, "metricsQuery",
                "unable to parse metrics query template: " + q.error().message);
  }
  return core::Status::Ok();
}

}  // namespace

core::Result<Config> ParseConfig(std::string_view yaml, std::string_view file) {
  Config config;
  config.file = std::string(file);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    Position pos{e.mark.line + 1, e.mark.column + 1};
    if (e.mark.line < 0) pos = {};
    return core::InvalidArgument(Where(file, pos) + "invalid YAML: " + e.msg);
  }
  Loader loader(file);
  try {
    if (root.IsNull() || (root.IsScalar() && root.Scalar().empty())) {
      return core::InvalidArgument(std::string(file) + ": the config is empty");
    }
    core::Status top = loader.Mapping(
        root, "",
        {{"rules", [&](const YAML::Node& n,
                       const std::string& p) { return loader.Rules(n, p, &config.rules); }},
         {"externalRules",
          [&](const YAML::Node& n, const std::string& p) {
            return loader.Rules(n, p, &config.external_rules);
          }},
         {"resourceRules", [&](const YAML::Node& n, const std::string& p) -> core::Status {
            if (n.IsNull()) return core::Status::Ok();
            ResourceRules rr;
            rr.position = PositionOf(n);
            GPUSCALE_RETURN_IF_ERROR(
                loader.Mapping(n, p,
                               {{"cpu",
                                 [&](const YAML::Node& v, const std::string& q) {
                                   return loader.ResourceRuleNode(v, q, &rr.cpu);
                                 }},
                                {"memory",
                                 [&](const YAML::Node& v, const std::string& q) {
                                   return loader.ResourceRuleNode(v, q, &rr.memory);
                                 }},
                                {"window", [&](const YAML::Node& v, const std::string& q) {
                                   return loader.String(v, q, &rr.window);
                                 }}}));
            config.resource_rules = std::move(rr);
            return core::Status::Ok();
          }}});
    if (!top.ok()) return std::move(top).error();
  } catch (const YAML::Exception& e) {
    return core::InvalidArgument(Where(file, {e.mark.line + 1, e.mark.column + 1}) + e.msg);
  }
  for (const auto& rule : config.rules) GPUSCALE_RETURN_IF_ERROR(Validate(config, rule));
  for (const auto& rule : config.external_rules) GPUSCALE_RETURN_IF_ERROR(Validate(config, rule));
  if (config.resource_rules) {
    config.warnings.push_back(Where(file, config.resource_rules->position) +
                              "resourceRules: metrics.k8s.io is not served by gpuscale adapter; "
                              "use metrics-server for resource metrics");
  }
  return config;
}

core::Result<Config> LoadConfig(const std::string& path) {
  if (path.empty()) {
    return core::InvalidArgument(
        "no metrics discovery configuration file specified (make sure to use --config)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::InvalidArgument(path + ": cannot read the config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseConfig(ss.str(), path);
}

}  // namespace gpuscale::adapter

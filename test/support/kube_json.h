// Small readers for Kubernetes objects as Boost.JSON values, shared by the e2e tests.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gpuscale::testing {

// The value at a dotted path of object keys ("status.phase"), or nullptr.
inline const boost::json::value* At(const boost::json::value& v, std::string_view dotted) {
  const boost::json::value* cur = &v;
  while (!dotted.empty()) {
    std::size_t dot = dotted.find('.');
    std::string_view key = dotted.substr(0, dot);
    const boost::json::object* obj = cur->if_object();
    if (!obj) return nullptr;
    auto it = obj->find(key);
    if (it == obj->end()) return nullptr;
    cur = &it->value();
    dotted = dot == std::string_view::npos ? std::string_view() : dotted.substr(dot + 1);
  }
  return cur;
}

inline std::string StringAt(const boost::json::value& v, std::string_view dotted) {
  const boost::json::value* s = At(v, dotted);
  return s && s->is_string() ? std::string(s->as_string()) : std::string();
}

inline std::int64_t IntAt(const boost::json::value& v, std::string_view dotted) {
  const boost::json::value* n = At(v, dotted);
  return n && n->is_int64() ? n->as_int64() : 0;
}

// The items of a list object (empty when there are none or it is not a list).
inline std::vector<boost::json::value> Items(const boost::json::value& list) {
  const boost::json::value* items = At(list, "items");
  if (!items || !items->is_array()) return {};
  return {items->as_array().begin(), items->as_array().end()};
}

// Names of the items of a list whose owner is called `owner`.
inline std::vector<std::string> OwnedBy(const boost::json::value& list, std::string_view owner) {
  std::vector<std::string> names;
  for (const auto& item : Items(list)) {
    const boost::json::value* refs = At(item, "metadata.ownerReferences");
    if (!refs || !refs->is_array()) continue;
    for (const auto& ref : refs->as_array()) {
      if (StringAt(ref, "name") == owner) names.push_back(StringAt(item, "metadata.name"));
    }
  }
  return names;
}

// The condition of `type` in status.conditions, or nullptr.
inline const boost::json::value* Condition(const boost::json::value& object,
                                           std::string_view type) {
  const boost::json::value* conditions = At(object, "status.conditions");
  if (!conditions || !conditions->is_array()) return nullptr;
  for (const auto& c : conditions->as_array()) {
    if (StringAt(c, "type") == type) return &c;
  }
  return nullptr;
}

}  // namespace gpuscale::testing

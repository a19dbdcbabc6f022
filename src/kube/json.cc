// Boost.JSON stays in this file.
#include <boost/json.hpp>

#include "kube/client.h"

namespace gpuscale::kube {
namespace json = boost::json;
namespace {

core::Result<json::value> ParseJson(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return core::DataLoss("invalid JSON: " + ec.message());
  return v;
}

core::Result<ObjectMeta> Meta(const json::value& obj, const std::string& path) {
  if (!obj.is_object()) return core::DataLoss(path + ": expected an object");
  ObjectMeta m;
  const json::value* md = obj.as_object().if_contains("metadata");
  if (!md || !md->is_object()) return core::DataLoss(path + ".metadata: expected an object");
  const auto& o = md->as_object();
  auto str = [&](const char* key, std::string* out) -> core::Status {
    if (const json::value* v = o.if_contains(key)) {
      if (!v->is_string()) return core::DataLoss(path + ".metadata." + key + ": expected a string");
      *out = std::string(v->as_string());
    }
    return core::Status::Ok();
  };
  GPUSCALE_RETURN_IF_ERROR(str("namespace", &m.namespace_));
  GPUSCALE_RETURN_IF_ERROR(str("name", &m.name));
  GPUSCALE_RETURN_IF_ERROR(str("resourceVersion", &m.resource_version));
  if (const json::value* l = o.if_contains("labels"); l && !l->is_null()) {
    if (!l->is_object()) return core::DataLoss(path + ".metadata.labels: expected an object");
    for (const auto& kv : l->as_object()) {
      if (!kv.value().is_string()) {
        return core::DataLoss(path + ".metadata.labels." + std::string(kv.key()) +
                              ": expected a string");
      }
      m.labels[std::string(kv.key())] = std::string(kv.value().as_string());
    }
  }
  return m;
}

}  // namespace

core::Result<ObjectList> DecodeObjectList(std::string_view text) {
  GPUSCALE_ASSIGN_OR_RETURN(json::value v, ParseJson(text));
  if (!v.is_object()) return core::DataLoss("expected an object");
  ObjectList list;
  if (const json::value* md = v.as_object().if_contains("metadata"); md && md->is_object()) {
    if (const json::value* rv = md->as_object().if_contains("resourceVersion");
        rv && rv->is_string()) {
      list.resource_version = std::string(rv->as_string());
    }
  }
  const json::value* items = v.as_object().if_contains("items");
  if (!items || items->is_null()) return list;
  if (!items->is_array()) return core::DataLoss("items: expected an array");
  std::size_t i = 0;
  for (const auto& item : items->as_array()) {
    GPUSCALE_ASSIGN_OR_RETURN(ObjectMeta m, Meta(item, "items[" + std::to_string(i++) + "]"));
    list.items.push_back(std::move(m));
  }
  return list;
}

core::Result<WatchEvent> DecodeWatchEvent(std::string_view text) {
  GPUSCALE_ASSIGN_OR_RETURN(json::value v, ParseJson(text));
  if (!v.is_object()) return core::DataLoss("expected an object");
  WatchEvent e;
  const json::value* type = v.as_object().if_contains("type");
  if (!type || !type->is_string()) return core::DataLoss("type: expected a string");
  e.type = std::string(type->as_string());
  const json::value* obj = v.as_object().if_contains("object");
  if (!obj || !obj->is_object()) return core::DataLoss("object: expected an object");
  if (e.type == "ERROR") {
    if (const json::value* c = obj->as_object().if_contains("code"); c && c->is_int64()) {
      e.error_code = static_cast<int>(c->as_int64());
    }
    return e;
  }
  GPUSCALE_ASSIGN_OR_RETURN(e.object, Meta(*obj, "object"));
  return e;
}

core::Result<std::map<std::string, std::string>> DecodeConfigMapData(std::string_view text) {
  GPUSCALE_ASSIGN_OR_RETURN(json::value v, ParseJson(text));
  std::map<std::string, std::string> out;
  if (!v.is_object()) return core::DataLoss("expected an object");
  const json::value* data = v.as_object().if_contains("data");
  if (!data || data->is_null()) return out;
  if (!data->is_object()) return core::DataLoss("data: expected an object");
  for (const auto& kv : data->as_object()) {
    if (!kv.value().is_string())
      return core::DataLoss("data." + std::string(kv.key()) + ": expected a string");
    out[std::string(kv.key())] = std::string(kv.value().as_string());
  }
  return out;
}

core::Result<std::vector<std::string>> DecodeStringArray(std::string_view text) {
  GPUSCALE_ASSIGN_OR_RETURN(json::value v, ParseJson(text));
  if (!v.is_array()) return core::DataLoss("expected an array of strings");
  std::vector<std::string> out;
  for (const auto& e : v.as_array()) {
    if (!e.is_string()) return core::DataLoss("expected an array of strings");
    out.emplace_back(e.as_string());
  }
  return out;
}

std::string EncodeTokenReview(std::string_view token) {
  json::object o;
  o["apiVersion"] = "authentication.k8s.io/v1";
  o["kind"] = "TokenReview";
  o["spec"] = json::object{{"token", json::string(token)}};
  return json::serialize(o);
}

core::Result<ReviewedUser> DecodeTokenReview(std::string_view text) {
  GPUSCALE_ASSIGN_OR_RETURN(json::value v, ParseJson(text));
  ReviewedUser u;
  const json::value* st = v.is_object() ? v.as_object().if_contains("status") : nullptr;
  if (!st || !st->is_object()) return core::DataLoss("status: expected an object");
  const auto& s = st->as_object();
  if (const json::value* a = s.if_contains("authenticated"); a && a->is_bool())
    u.authenticated = a->as_bool();
  if (const json::value* e = s.if_contains("error"); e && e->is_string())
    u.error = std::string(e->as_string());
  if (const json::value* user = s.if_contains("user"); user && user->is_object()) {
    if (const json::value* n = user->as_object().if_contains("username"); n && n->is_string()) {
      u.username = std::string(n->as_string());
    }
    if (const json::value* g = user->as_object().if_contains("groups"); g && g->is_array()) {
      for (const auto& x : g->as_array()) {
        if (x.is_string()) u.groups.emplace_back(x.as_string());
      }
    }
  }
  return u;
}

std::string EncodeSubjectAccessReview(const AccessRequest& r) {
  json::object spec;
  spec["user"] = r.user;
  json::array groups;
  for (const auto& g : r.groups) groups.emplace_back(json::string(g));
  spec["groups"] = std::move(groups);
  if (r.resource) {
    spec["resourceAttributes"] = json::object{{"namespace", r.namespace_},
                                              {"verb", r.verb},
                                              {"group", r.group},
                                              {"version", r.version},
                                              {"resource", r.resource_name},
                                              {"subresource", r.subresource},
                                              {"name", r.name}};
  } else {
    spec["nonResourceAttributes"] = json::object{{"path", r.path}, {"verb", r.verb}};
  }
  json::object o;
  o["apiVersion"] = "authorization.k8s.io/v1";
  o["kind"] = "SubjectAccessReview";
  o["spec"] = std::move(spec);
  return json::serialize(o);
}

core::Result<bool> DecodeSubjectAccessReview(std::string_view text, std::string* reason) {
  GPUSCALE_ASSIGN_OR_RETURN(json::value v, ParseJson(text));
  const json::value* st = v.is_object() ? v.as_object().if_contains("status") : nullptr;
  if (!st || !st->is_object()) return core::DataLoss("status: expected an object");
  const auto& s = st->as_object();
  if (const json::value* r = s.if_contains("reason"); r && r->is_string() && reason) {
    *reason = std::string(r->as_string());
  }
  const json::value* a = s.if_contains("allowed");
  return a && a->is_bool() && a->as_bool();
}

}  // namespace gpuscale::kube

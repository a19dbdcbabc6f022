#include "adapter/prom_source.h"

#include <algorithm>

namespace gpuscale::adapter {

core::Result<PromAnswer> PromSource::Query(const std::string& promql, core::Timestamp now,
                                           std::chrono::milliseconds timeout) {
  GPUSCALE_ASSIGN_OR_RETURN(prom::QueryResult r, client_.Query(promql, now, timeout));
  PromAnswer a;
  switch (r.type) {
    case prom::ResultType::kVector:
      a.type = PromAnswer::Type::kVector;
      for (auto& s : r.vector) {
        PromSample p;
        for (auto& l : s.metric) p.labels[l.name] = l.value;
        p.value = s.value;
        p.timestamp = core::FromUnixSeconds(s.timestamp);
        a.samples.push_back(std::move(p));
      }
      break;
    case prom::ResultType::kScalar:
      a.type = PromAnswer::Type::kScalar;
      a.samples.push_back({{}, r.scalar_value, core::FromUnixSeconds(r.scalar_timestamp)});
      break;
    default:
      a.type = PromAnswer::Type::kOther;
      a.type_name = std::string(prom::ResultTypeName(r.type));
  }
  return a;
}

core::Result<std::vector<SeriesShape>> PromSeriesLister::ListSeries(const std::string& match,
                                                                    core::Timestamp start) {
  // Each series is reduced to its shape as it is decoded; only distinct shapes are kept.
  ShapeCollector shapes;
  GPUSCALE_RETURN_IF_ERROR(client_.StreamSeries(
      {match}, [&shapes](prom::Labels& labels) { shapes.Add(labels); }, start));
  return shapes.Take();
}

}  // namespace gpuscale::adapter

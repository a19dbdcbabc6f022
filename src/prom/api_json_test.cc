#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "prom/api.h"

namespace gpuscale::prom {
namespace {

template <typename T>
core::Error ErrorOf(const core::Result<T>& r) {
  if (r.ok()) return core::Error{core::Code::kOk, "(decoded)"};
  return r.error();
}

TEST(DecodeQueryResponseTest, DecodesVectorWithSpecialValuesAndLabelOrder) {
  auto r = DecodeQueryResponse(R"({"status":"success","data":{"resultType":"vector","result":[
    {"metric":{"__name__":"up","job":"prometheus","instance":"127.0.0.1:9090"},
     "value":[1700000000.123,"1"]},
    {"metric":{},"value":[1700000000,"NaN"]},
    {"metric":{"a":"b"},"value":[1700000000,"+Inf"]},
    {"metric":{"a":"c"},"value":[1700000000,"-Inf"]}]}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->type, ResultType::kVector);
  ASSERT_EQ(r->vector.size(), 4u);
  EXPECT_EQ(r->vector[0].metric,
            (Labels{{"__name__", "up"}, {"job", "prometheus"}, {"instance", "127.0.0.1:9090"}}));
  EXPECT_DOUBLE_EQ(r->vector[0].timestamp, 1700000000.123);
  EXPECT_EQ(r->vector[0].value, 1);
  EXPECT_TRUE(r->vector[1].metric.empty());
  EXPECT_TRUE(std::isnan(r->vector[1].value));
  EXPECT_EQ(r->vector[2].value, INFINITY);
  EXPECT_EQ(r->vector[3].value, -INFINITY);
  EXPECT_TRUE(r->warnings.empty());
}

TEST(DecodeQueryResponseTest, DecodesMatrixScalarStringAndWarnings) {
  auto m = DecodeQueryResponse(R"({"status":"success","warnings":["partial answer"],
    "data":{"resultType":"matrix","result":[{"metric":{"x":"1"},"values":[[1,"1.5"],[2,"2"]]}]}})");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->type, ResultType::kMatrix);
  ASSERT_EQ(m->matrix.size(), 1u);
  EXPECT_EQ(m->matrix[0].values, (std::vector<std::pair<double, double>>{{1, 1.5}, {2, 2}}));
  EXPECT_EQ(m->warnings, std::vector<std::string>{"partial answer"});

  auto s = DecodeQueryResponse(
      R"({"status":"success","data":{"resultType":"scalar","result":[1700000000.5,"42"]}})");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->type, ResultType::kScalar);
  EXPECT_EQ(s->scalar_timestamp, 1700000000.5);
  EXPECT_EQ(s->scalar_value, 42);

  auto str = DecodeQueryResponse(
      R"({"status":"success","data":{"resultType":"string","result":[10,"hello"]}})");
  ASSERT_TRUE(str.ok()) << str.error().message;
  EXPECT_EQ(str->type, ResultType::kString);
  EXPECT_EQ(str->string_value, "hello");
  EXPECT_EQ(ResultTypeName(str->type), "string");
}

TEST(DecodeQueryResponseTest, ApiErrorsCarryTypeAndMessageWithMappedCodes) {
  auto bad = DecodeQueryResponse(
      R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:4: parse error: unexpected end of input"})");
  EXPECT_EQ(ErrorOf(bad),
            (core::Error{core::Code::kInvalidArgument,
                         "bad_data: invalid parameter \"query\": 1:4: parse error: unexpected "
                         "end of input"}));
  struct Case {
    const char* type;
    core::Code code;
  } cases[] = {
      {"timeout", core::Code::kDeadlineExceeded},  {"canceled", core::Code::kCancelled},
      {"execution", core::Code::kInvalidArgument}, {"unavailable", core::Code::kUnavailable},
      {"not_found", core::Code::kNotFound},        {"internal", core::Code::kInternal}};
  for (const Case& c : cases) {
    auto r = DecodeQueryResponse(std::string(R"({"status":"error","errorType":")") + c.type +
                                 R"(","error":"x"})");
    EXPECT_EQ(ErrorOf(r).code, c.code) << c.type;
    EXPECT_EQ(ErrorOf(r).message, std::string(c.type) + ": x");
  }
}

TEST(DecodeQueryResponseTest, MalformedAnswersNameTheField) {
  struct Case {
    const char* json;
    const char* message;
  } cases[] = {
      {R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]},{"metric":{},"value":[1,"1"]},{"metric":{},"value":[1]}]}})",
       "data.result[2].value: expected [timestamp, \"value\"], found an array of 1"},
      {R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,2]}]}})",
       "data.result[0].value[1]: expected a string holding a number, found a number"},
      {R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":["1","2"]}]}})",
       "data.result[0].value[0]: expected a number, found a string"},
      {R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"x"]}]}})",
       "data.result[0].value[1]: expected a number, found \"x\""},
      {R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":1},"value":[1,"1"]}]}})",
       "data.result[0].metric.job: expected a string, found a number"},
      {R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}})",
       "data.result[0].value: missing"},
      {R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1,{}]}]}})",
       "data.result[0].histogram: native histogram samples are not supported"},
      {R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],{}]}]}})",
       "data.result[0].values[1]: expected [timestamp, \"value\"], found an object"},
      {R"({"status":"success","data":{"resultType":"tensor","result":[]}})",
       "data.resultType: expected vector, matrix, scalar or string, found \"tensor\""},
      {R"({"status":"success","data":{"result":[]}})", "data.resultType: missing"},
      {R"({"status":"success"})", "data: missing"},
      {R"({"status":"ok","data":{}})", "status: expected \"success\" or \"error\", found \"ok\""},
      {R"({"data":{}})", "status: missing"},
      {R"([1,2])", "response: expected an object, found an array"},
      {R"({"status":"success","warnings":"w","data":{}})",
       "warnings: expected an array, found a string"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ErrorOf(DecodeQueryResponse(c.json)), (core::Error{core::Code::kDataLoss, c.message}))
        << c.json;
  }
  core::Error truncated = ErrorOf(DecodeQueryResponse(R"({"status":"succ)"));
  EXPECT_EQ(truncated.code, core::Code::kDataLoss);
  EXPECT_THAT(truncated.message, ::testing::StartsWith("malformed JSON: "));
}

TEST(DecodeSeriesResponseTest, DecodesLabelSets) {
  auto r = DecodeSeriesResponse(R"({"status":"success","data":[
    {"__name__":"DCGM_FI_DEV_GPU_UTIL","gpu":"0","pod":"vllm-0","namespace":"default"},
    {"__name__":"up","job":"node"}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->series.size(), 2u);
  EXPECT_EQ(r->series[0][3], (Label{"namespace", "default"}));
  EXPECT_EQ(r->series[1], (Labels{{"__name__", "up"}, {"job", "node"}}));
  EXPECT_EQ(ErrorOf(DecodeSeriesResponse(R"({"status":"success","data":[{"a":"b"},["x"]]})")),
            (core::Error{core::Code::kDataLoss,
                         "data[1]: expected an object of label names to values, found an array"}));
  EXPECT_EQ(ErrorOf(DecodeSeriesResponse(R"({"status":"success","data":{}})")),
            (core::Error{core::Code::kDataLoss, "data: expected an array, found an object"}));
}

TEST(DecodeLabelsResponseTest, DecodesNames) {
  auto r = DecodeLabelsResponse(R"({"status":"success","data":["__name__","job"]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->names, (std::vector<std::string>{"__name__", "job"}));
  EXPECT_EQ(ErrorOf(DecodeLabelsResponse(R"({"status":"success","data":["a",null]})")),
            (core::Error{core::Code::kDataLoss, "data[1]: expected a string, found null"}));
  auto empty = DecodeLabelsResponse(R"({"status":"success","data":null})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->names.empty());
}

}  // namespace
}  // namespace gpuscale::prom

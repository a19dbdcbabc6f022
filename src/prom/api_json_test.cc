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

// Renders a decoded answer (series, warnings) or its error as one line.
std::string Describe(const std::vector<Labels>& series,
                     const core::Result<std::vector<std::string>>& warnings) {
  if (!warnings.ok()) {
    return "error " + std::string(core::CodeName(warnings.error().code)) + ": " +
           warnings.error().message;
  }
  std::string out = "ok";
  for (const Labels& labels : series) {
    out += " {";
    for (const Label& l : labels) out += l.name + "=" + l.value + ";";
    out += "}";
  }
  for (const std::string& w : *warnings) out += " warning " + w;
  return out;
}

std::string Describe(const core::Result<SeriesSet>& r) {
  if (!r.ok()) return Describe({}, r.error());
  return Describe(r->series, r->warnings);
}

// Feeds `pieces` to a SeriesDecoder; what it handed over and its result, as Describe writes it.
std::string DecodeInPieces(const std::vector<std::string_view>& pieces) {
  std::vector<Labels> series;
  SeriesDecoder decoder([&series](Labels& labels) { series.push_back(std::move(labels)); });
  for (std::string_view piece : pieces) decoder.Feed(piece);
  return Describe(series, decoder.Finish());
}

// Answers and what the decoders make of them (DecodeSeriesResponse's results before it was
// built on SeriesDecoder, when it parsed the whole answer into a JSON tree first).
struct SeriesCase {
  std::string json;
  std::string expected;
};
const std::vector<SeriesCase>& SeriesCases() {
  static const auto* cases = new std::vector<SeriesCase>{
      {R"({"status":"success","data":[{"__name__":"up","job":"a"},{"b":"c"}],"warnings":["w1","w2"]})",
       "ok {__name__=up;job=a;} {b=c;} warning w1 warning w2"},
      {R"({"status":"success","data":null})", "ok"},
      {R"({"status":"success","data":[]})", "ok"},
      {R"({"status":"success","data":{}})",
       "error DATA_LOSS: data: expected an array, found an object"},
      {R"({"status":"success","data":[{"a":"b"},["x"]]})",
       "error DATA_LOSS: data[1]: expected an object of label names to values, found an array"},
      {R"({"status":"success","data":[{"a":"b"},{"c":1}]})",
       "error DATA_LOSS: data[1].c: expected a string, found a number"},
      {R"({"status":"success","data":[{"a":{"x":[1]}}]})",
       "error DATA_LOSS: data[0].a: expected a string, found an object"},
      {R"({"status":"success","data":[{"a":"b","c":null,"d":true}]})",
       "error DATA_LOSS: data[0].c: expected a string, found null"},
      {R"({"status":"error","errorType":"bad_data","error":"parse error"})",
       "error INVALID_ARGUMENT: bad_data: parse error"},
      {R"({"status":"error","errorType":"execution","error":"x"})",
       "error INVALID_ARGUMENT: execution: x"},
      {R"({"status":"error","errorType":"timeout","error":"x"})",
       "error DEADLINE_EXCEEDED: timeout: x"},
      {R"({"status":"error","errorType":"canceled","error":"x"})", "error CANCELLED: canceled: x"},
      {R"({"status":"error","errorType":"unavailable","error":"x"})",
       "error UNAVAILABLE: unavailable: x"},
      {R"({"status":"error","errorType":"not_found","error":"x"})",
       "error NOT_FOUND: not_found: x"},
      {R"({"status":"error","errorType":"internal","error":"x"})", "error INTERNAL: internal: x"},
      {R"({"status":"error"})", "error INTERNAL: unknown: "},
      {R"({"status":"error","errorType":5,"error":["x"],"data":7})", "error INTERNAL: unknown: "},
      {R"({"status":"weird","data":[]})",
       "error DATA_LOSS: status: expected \"success\" or \"error\", found \"weird\""},
      {R"({"data":[]})", "error DATA_LOSS: status: missing"},
      {R"({"status":1,"data":[]})", "error DATA_LOSS: status: expected a string, found a number"},
      {R"({"status":{"a":"b"},"data":[]})",
       "error DATA_LOSS: status: expected a string, found an object"},
      {R"({"status":"success"})", "error DATA_LOSS: data: missing"},
      {R"({"status":"success","data":[],"warnings":"w"})",
       "error DATA_LOSS: warnings: expected an array, found a string"},
      {R"({"status":"success","data":[],"warnings":["a",2,{}]})",
       "error DATA_LOSS: warnings[1]: expected a string, found a number"},
      {R"({"status":"success","data":[],"warnings":null})", "ok"},
      {R"({"status":"success","data":[1],"warnings":[3]})",
       "error DATA_LOSS: warnings[0]: expected a string, found a number"},
      {R"([])", "error DATA_LOSS: response: expected an object, found an array"},
      {R"("x")", "error DATA_LOSS: response: expected an object, found a string"},
      {R"(12)", "error DATA_LOSS: response: expected an object, found a number"},
      {R"()", "error DATA_LOSS: malformed JSON: incomplete JSON"},
      {R"(   )", "error DATA_LOSS: malformed JSON: incomplete JSON"},
      {R"({"status":"success","data":[{"a":"b"})",
       "error DATA_LOSS: malformed JSON: incomplete JSON"},
      {R"({"status":"success","data":[]} x)", "error DATA_LOSS: malformed JSON: extra data"},
      {R"({"status":"success","data":[]}{})", "error DATA_LOSS: malformed JSON: extra data"},
      {"{\"status\":\"success\",\"data\":[]}  \n", "ok"},
      {R"({"data":[{"a":"b"},{"c":"d"}],"status":"success"})", "ok {a=b;} {c=d;}"},
      {R"({"data":[{"a":"b"},3],"status":"error","errorType":"execution","error":"e"})",
       "error INVALID_ARGUMENT: execution: e"},
      {R"({"data":[{"a":"b"},3],"status":"success"})",
       "error DATA_LOSS: data[1]: expected an object of label names to values, found a number"},
      {R"({"status":"success","data":[{"a":"1","b":"3","a":"2"}]})", "ok {a=2;b=3;}"},
      {R"({"status":"success","data":[{"a":1,"a":"2"}]})", "ok {a=2;}"},
      {R"({"status":"success","data":[{"a":"2","a":1}]})",
       "error DATA_LOSS: data[0].a: expected a string, found a number"},
      {R"({"status":"success","data":[{"a":"b"}],"extra":{"x":[1,2,{"y":null}]},"infos":["i"]})",
       "ok {a=b;}"},
      {R"({"status":"success","data":[{}]})", "ok {}"},
      {R"({"status":"success","data":[{"a\"b\\u00e9":"c\nd\u2603"}]})", "ok {a\"b\\u00e9=c\nd☃;}"},
      {"{\"status\":\"success\",\"data\":[{\"a\":\"\xff\"}]}",
       "error DATA_LOSS: malformed JSON: syntax error"},
      {R"({"status":"success","data":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]})",
       "error DATA_LOSS: malformed JSON: too deep"},
      {R"({"status":"success","data":[{"a":"b",}]})",
       "error DATA_LOSS: malformed JSON: syntax error"},
      {R"({"status":"success","warnings":["w"],"data":[{"a":"b"}],"warnings":["v"]})",
       "ok {a=b;} warning v"},
      {R"({"status":"success","errorType":"x","error":"y","data":[{"a":"b"}]})", "ok {a=b;}"},
  };
  return *cases;
}

TEST(SeriesDecoderTest, WholeAnswersDecodeAsBefore) {
  for (const SeriesCase& c : SeriesCases()) {
    EXPECT_EQ(Describe(DecodeSeriesResponse(c.json)), c.expected) << c.json;
    EXPECT_EQ(DecodeInPieces({c.json}), c.expected) << c.json;
  }
}

TEST(SeriesDecoderTest, AnswersSplitAtEveryByteDecodeAlike) {
  for (const SeriesCase& c : SeriesCases()) {
    std::string_view json = c.json;
    for (std::size_t at = 0; at <= json.size(); ++at) {
      EXPECT_EQ(DecodeInPieces({json.substr(0, at), json.substr(at)}), c.expected)
          << c.json << " split at " << at;
    }
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < json.size(); ++i) bytes.push_back(json.substr(i, 1));
    EXPECT_EQ(DecodeInPieces(bytes), c.expected) << c.json << " byte by byte";
  }
}

TEST(SeriesDecoderTest, HandsOverEachSeriesAsSoonAsItIsComplete) {
  int handed = 0;
  SeriesDecoder decoder([&handed](Labels&) { ++handed; });
  EXPECT_TRUE(decoder.Feed(R"({"status":"success","data":[{"a":"b"},{"c")"));
  EXPECT_EQ(handed, 1);
  EXPECT_TRUE(decoder.Feed(R"(:"d"}],"warnings":["w"]})"));
  EXPECT_EQ(handed, 2);
  auto warnings = decoder.Finish();
  ASSERT_TRUE(warnings.ok()) << warnings.error().message;
  EXPECT_EQ(*warnings, std::vector<std::string>{"w"});
}

TEST(SeriesDecoderTest, SeriesBeforeStatusWaitForIt) {
  int handed = 0;
  SeriesDecoder held([&handed](Labels&) { ++handed; });
  held.Feed(R"({"data":[{"a":"b"},{"c":"d"}],)");
  EXPECT_EQ(handed, 0);
  held.Feed(R"("status":"success"})");
  EXPECT_EQ(handed, 2);
  EXPECT_TRUE(held.Finish().ok());

  handed = 0;
  SeriesDecoder dropped([&handed](Labels&) { ++handed; });
  dropped.Feed(R"({"data":[{"a":"b"}],"status":"error","errorType":"timeout","error":"slow"})");
  EXPECT_EQ(ErrorOf(dropped.Finish()),
            (core::Error{core::Code::kDeadlineExceeded, "timeout: slow"}));
  EXPECT_EQ(handed, 0);
}

TEST(SeriesDecoderTest, RepeatedStatusOrDataIsAnError) {
  // A JSON object keeps the last of repeated keys; series of a first "data" may already have
  // been handed over, so the decoder refuses the answer instead.
  EXPECT_EQ(DecodeInPieces({R"({"status":"success","data":[{"a":"b"}],"data":[]})"}),
            "error DATA_LOSS: data: duplicate key");
  EXPECT_EQ(DecodeInPieces({R"({"status":"success","data":[],"status":"error"})"}),
            "error DATA_LOSS: status: duplicate key");
  EXPECT_EQ(Describe(DecodeSeriesResponse(R"({"status":"success","status":"success","data":[]})")),
            "error DATA_LOSS: status: duplicate key");
}

TEST(SeriesDecoderTest, FeedSaysWhenTheJsonIsMalformed) {
  SeriesDecoder decoder([](Labels&) {});
  EXPECT_TRUE(decoder.Feed(R"({"status":"success",)"));
  EXPECT_FALSE(decoder.Feed(R"("data":[}])"));
  EXPECT_FALSE(decoder.Feed(R"(])"));
  EXPECT_EQ(ErrorOf(decoder.Finish()),
            (core::Error{core::Code::kDataLoss, "malformed JSON: syntax error"}));
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

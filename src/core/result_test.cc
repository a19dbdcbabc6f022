#include "core/result.h"

#include <gtest/gtest.h>

#include <memory>

namespace gpuscale::core {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument("odd: " + std::to_string(x));
  return x / 2;
}

Result<int> Quarter(int x) {
  GPUSCALE_ASSIGN_OR_RETURN(int h, Half(x));
  GPUSCALE_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckPositive(int x) {
  if (x <= 0) return InvalidArgument("not positive");
  return Status::Ok();
}

Status Both(int a, int b) {
  GPUSCALE_RETURN_IF_ERROR(CheckPositive(a));
  GPUSCALE_RETURN_IF_ERROR(Half(b));
  return Status::Ok();
}

TEST(ResultTest, ValueAndError) {
  Result<int> ok = Half(8);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 4);
  Result<int> bad = Half(3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Code::kInvalidArgument);
  EXPECT_EQ(bad.error().message, "odd: 3");
  EXPECT_EQ(bad.value_or(-1), -1);
}

TEST(ResultTest, MacrosPropagate) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).error().message, "odd: 3");
  EXPECT_TRUE(Both(1, 2).ok());
  EXPECT_EQ(Both(0, 2).error().message, "not positive");
  EXPECT_EQ(Both(1, 3).error().message, "odd: 3");
}

TEST(ResultTest, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

TEST(ResultTest, ErrorTextAndContext) {
  Error e = NotFound("metric foo");
  EXPECT_EQ(e.ToString(), "NOT_FOUND: metric foo");
  EXPECT_EQ(e.WithContext("adapter").message, "adapter: metric foo");
}

TEST(ResultDeathTest, ValueOfErrorAborts) {
  Result<int> bad = Half(3);
  EXPECT_DEATH((void)bad.value(), "odd: 3");
}

TEST(CodeTest, HttpAndKubeMapping) {
  EXPECT_EQ(HttpStatus(Code::kOk), 200);
  EXPECT_EQ(HttpStatus(Code::kNotFound), 404);
  EXPECT_EQ(HttpStatus(Code::kUnavailable), 503);
  EXPECT_EQ(HttpStatus(Code::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatus(Code::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatus(Code::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatus(Code::kResourceExhausted), 429);
  EXPECT_EQ(KubeReason(Code::kNotFound), "NotFound");
  EXPECT_EQ(KubeReason(Code::kUnavailable), "ServiceUnavailable");
  EXPECT_EQ(KubeReason(Code::kPermissionDenied), "Forbidden");
  EXPECT_EQ(KubeReason(Code::kUnauthenticated), "Unauthorized");
  EXPECT_EQ(KubeReason(Code::kInvalidArgument), "BadRequest");
  EXPECT_EQ(KubeReason(Code::kDeadlineExceeded), "Timeout");
  EXPECT_EQ(KubeReason(Code::kInternal), "InternalError");
}

TEST(CodeTest, FromHttpStatusRoundTrips) {
  for (Code c : {Code::kInvalidArgument, Code::kNotFound, Code::kUnavailable,
                 Code::kUnauthenticated, Code::kPermissionDenied, Code::kInternal,
                 Code::kDeadlineExceeded, Code::kResourceExhausted}) {
    EXPECT_EQ(CodeFromHttpStatus(HttpStatus(c)), c) << CodeName(c);
  }
  EXPECT_EQ(CodeFromHttpStatus(204), Code::kOk);
  EXPECT_EQ(CodeFromHttpStatus(418), Code::kInvalidArgument);
  EXPECT_EQ(CodeFromHttpStatus(599), Code::kInternal);
}

}  // namespace
}  // namespace gpuscale::core

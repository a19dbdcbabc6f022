#include "core/result.h"

#include <cstdio>

namespace gpuscale::core {

namespace {
struct CodeInfo {
  std::string_view name;
  int http;
  std::string_view reason;
};

CodeInfo Info(Code code) {
  switch (code) {
    case Code::kOk:
      return {"OK", 200, ""};
    case Code::kCancelled:
      return {"CANCELLED", 499, "Unknown"};
    case Code::kInvalidArgument:
      return {"INVALID_ARGUMENT", 400, "BadRequest"};
    case Code::kDeadlineExceeded:
      return {"DEADLINE_EXCEEDED", 504, "Timeout"};
    case Code::kNotFound:
      return {"NOT_FOUND", 404, "NotFound"};
    case Code::kAlreadyExists:
      return {"ALREADY_EXISTS", 409, "AlreadyExists"};
    case Code::kPermissionDenied:
      return {"PERMISSION_DENIED", 403, "Forbidden"};
    case Code::kUnauthenticated:
      return {"UNAUTHENTICATED", 401, "Unauthorized"};
    case Code::kResourceExhausted:
      return {"RESOURCE_EXHAUSTED", 429, "TooManyRequests"};
    case Code::kFailedPrecondition:
      return {"FAILED_PRECONDITION", 400, "BadRequest"};
    case Code::kUnavailable:
      return {"UNAVAILABLE", 503, "ServiceUnavailable"};
    case Code::kInternal:
      return {"INTERNAL", 500, "InternalError"};
    case Code::kUnimplemented:
      return {"UNIMPLEMENTED", 501, "MethodNotAllowed"};
    case Code::kDataLoss:
      return {"DATA_LOSS", 502, "InternalError"};
  }
  return {"UNKNOWN", 500, "Unknown"};
}
}  // namespace

std::string_view CodeName(Code code) { return Info(code).name; }
int HttpStatus(Code code) { return Info(code).http; }
std::string_view KubeReason(Code code) { return Info(code).reason; }

Code CodeFromHttpStatus(int status) {
  if (status >= 200 && status < 300) return Code::kOk;
  switch (status) {
    case 400:
      return Code::kInvalidArgument;
    case 401:
      return Code::kUnauthenticated;
    case 403:
      return Code::kPermissionDenied;
    case 404:
      return Code::kNotFound;
    case 408:
    case 504:
      return Code::kDeadlineExceeded;
    case 409:
      return Code::kAlreadyExists;
    case 413:
    case 429:
      return Code::kResourceExhausted;
    case 499:
      return Code::kCancelled;
    case 501:
      return Code::kUnimplemented;
    case 502:
    case 503:
      return Code::kUnavailable;
    default:
      return status >= 500 ? Code::kInternal : Code::kInvalidArgument;
  }
}

std::string Error::ToString() const {
  std::string out(CodeName(code));
  out += ": ";
  out += message;
  return out;
}

Error Error::WithContext(std::string_view context) const {
  Error e = *this;
  e.message = std::string(context) + ": " + message;
  return e;
}

void AbortWithMessage(const char* prefix, const char* what) {
  std::fprintf(stderr, "fatal: %s%s\n", prefix, what);
  std::fflush(stderr);
  std::abort();
}

}  // namespace gpuscale::core

// Error values and Result<T>, the return type of every operation that can fail in an expected
// way. Modelled on absl::Status codes; Result<T> is shaped like std::expected<T, Error>.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace gpuscale::core {

// A fixed set of error codes. Each maps to one HTTP status and one Kubernetes Status reason
// (see HttpStatus and KubeReason).
enum class Code {
  kOk = 0,
  kCancelled,           // the caller gave up (client disconnected, shutdown)
  kInvalidArgument,     // bad input: config, flags, request bodies
  kDeadlineExceeded,    // a timeout expired
  kNotFound,            // unknown metric, path, model, file
  kAlreadyExists,       // e.g. a port that is in use
  kPermissionDenied,    // authenticated but not allowed
  kUnauthenticated,     // no or bad credentials
  kResourceExhausted,   // limits: body size, connection count, KV cache
  kFailedPrecondition,  // the system is not in a state to do this
  kUnavailable,         // a dependency is down; retrying may help
  kInternal,            // a bug or an unexpected answer from a dependency
  kUnimplemented,       // not supported by this build or version
  kDataLoss,            // malformed data from a peer
};

std::string_view CodeName(Code code);
// The HTTP status a server answers with for this code (kOk → 200).
int HttpStatus(Code code);
// The Kubernetes metav1.Status `reason` for this code ("NotFound", "ServiceUnavailable", ...).
std::string_view KubeReason(Code code);
// The code an HTTP status most closely means (for clients that turn answers into errors).
Code CodeFromHttpStatus(int status);

// An error: a code and a message that says what was expected, what was found and where.
struct Error {
  Code code = Code::kInternal;
  std::string message;

  // "INVALID_ARGUMENT: config.yaml:3:1: ..." — for logs.
  std::string ToString() const;
  // Returns a copy with `context + ": "` in front of the message.
  Error WithContext(std::string_view context) const;
  bool operator==(const Error&) const = default;
};

inline Error MakeError(Code code, std::string message) { return Error{code, std::move(message)}; }
inline Error InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Error NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Error Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
inline Error Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
inline Error DeadlineExceeded(std::string m) { return {Code::kDeadlineExceeded, std::move(m)}; }
inline Error DataLoss(std::string m) { return {Code::kDataLoss, std::move(m)}; }
inline Error FailedPrecondition(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
inline Error ResourceExhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }

// Either a value or an Error. Accessing the wrong alternative aborts with a message.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return Check(), std::get<0>(v_); }
  const T& value() const& { return Check(), std::get<0>(v_); }
  T&& value() && { return Check(), std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& {
    if (ok()) Abort("Result::error() called on a value");
    return std::get<1>(v_);
  }
  Error&& error() && {
    if (ok()) Abort("Result::error() called on a value");
    return std::get<1>(std::move(v_));
  }
  template <typename U>
  T value_or(U&& fallback) const& {
    return ok() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  [[noreturn]] static void Abort(const char* what);
  void Check() const {
    if (!ok()) Abort(std::get<1>(v_).ToString().c_str());
  }
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT: implicit
  static Status Ok() { return {}; }
  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { return *error_; }
  Error&& error() && { return std::move(*error_); }
  std::string ToString() const { return ok() ? "OK" : error_->ToString(); }

 private:
  std::optional<Error> error_;
};

[[noreturn]] void AbortWithMessage(const char* prefix, const char* what);

template <typename T>
void Result<T>::Abort(const char* what) {
  AbortWithMessage("Result accessed without a value: ", what);
}

}  // namespace gpuscale::core

// Returns the error of `expr` (a Status or Result) from the enclosing function.
#define GPUSCALE_RETURN_IF_ERROR(expr)                                      \
  do {                                                                      \
    auto gpuscale_status_ = (expr);                                         \
    if (!gpuscale_status_.ok()) return std::move(gpuscale_status_).error(); \
  } while (0)

#define GPUSCALE_CONCAT_INNER(a, b) a##b
#define GPUSCALE_CONCAT(a, b) GPUSCALE_CONCAT_INNER(a, b)
// Declares `lhs` from the value of a Result, or returns its error.
#define GPUSCALE_ASSIGN_OR_RETURN(lhs, expr) \
  GPUSCALE_ASSIGN_OR_RETURN_IMPL(GPUSCALE_CONCAT(gpuscale_result_, __LINE__), lhs, expr)
#define GPUSCALE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return std::move(tmp).error();        \
  lhs = std::move(tmp).value()

// Aborts with a message when an invariant does not hold (a bug, never bad input).
#define GPUSCALE_CHECK(cond)                                                                  \
  do {                                                                                        \
    if (!(cond)) ::gpuscale::core::AbortWithMessage("check failed at " __FILE__ ": ", #cond); \
  } while (0)

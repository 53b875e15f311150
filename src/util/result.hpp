// A small result type for per-call engine and store failures (HOUSE-STYLE.md, Errors):
// either a value or an error with a code and a human sentence. No exceptions cross an
// engine interface.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace voxgate::util {

enum class ErrorCode {
  kInvalidInput,  // the input cannot be processed (bad audio, empty text)
  kUnavailable,   // the engine cannot run (model missing, compiled out, remote down)
  kTimeout,       // it took longer than allowed
  kCancelled,     // the caller cancelled it
  kInternal       // a broken invariant inside the engine
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

template <class T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<T>(state_); }
  const T& value() const { return std::get<T>(state_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  const Error& error() const { return std::get<Error>(state_); }

 private:
  std::variant<T, Error> state_;
};

}  // namespace voxgate::util

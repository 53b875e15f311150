// Argument checks and errors shared by the SessionStore backends, so that each refuses the
// same arguments with the same error (the contract suite checks them on every backend).
#include "store/session_store.hpp"

#include <string>

namespace voxgate::store {

using util::Error;
using util::ErrorCode;

Error wrong_kind(std::string_view operation) {
  return {ErrorCode::kInternal, std::string(operation) + ": the key holds another kind of value"};
}

std::optional<Error> check_key(std::string_view operation, std::string_view key) {
  if (key.empty()) {
    return Error{ErrorCode::kInvalidInput, std::string(operation) + ": empty key"};
  }
  if (key.size() > kMaxValueBytes) {
    return Error{ErrorCode::kInvalidInput, std::string(operation) + ": key too long"};
  }
  return std::nullopt;
}

std::optional<Error> check_ttl(std::string_view operation, std::chrono::milliseconds ttl) {
  if (ttl < std::chrono::milliseconds(1) || ttl > kMaxTtl) {
    return Error{ErrorCode::kInvalidInput, std::string(operation) +
                                               ": ttl must be between 1 ms and " +
                                               std::to_string(kMaxTtl.count()) + " ms, not " +
                                               std::to_string(ttl.count()) + " ms"};
  }
  return std::nullopt;
}

std::optional<Error> check_value(std::string_view operation, std::string_view value) {
  if (value.size() > kMaxValueBytes) {
    return Error{ErrorCode::kInvalidInput,
                 std::string(operation) + ": value of " + std::to_string(value.size()) +
                     " bytes is over the limit of " + std::to_string(kMaxValueBytes)};
  }
  return std::nullopt;
}

}  // namespace voxgate::store

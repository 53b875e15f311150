// Runs an io_context on the test's thread until a condition holds or a time limit passes:
// for tests of components whose callbacks are posted to an executor.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>

namespace voxgate::test_support {

inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace voxgate::test_support

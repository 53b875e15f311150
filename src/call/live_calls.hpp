// The registry of calls whose media stream is live on this worker, with the admission
// limit `server.max_concurrent_calls`. Each entry is a handle through which other parts
// of the server (speech stages, tests, admin tools) reach a call without touching its
// state directly: every handle method posts work to the call's strand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace voxgate::call {

// What can be asked of a live call from outside its strand. Implementations post to the
// strand and return at once; `done` callbacks run on the call's strand.
class LiveCallHandle {
 public:
  virtual ~LiveCallHandle() = default;
  // Queues speech (8 kHz mu-law) for the caller, followed by a mark named `mark_name`.
  virtual void speak(std::vector<std::uint8_t> mulaw, std::string mark_name) = 0;
  // Barge-in: stops what is playing (sends `clear`).
  virtual void interrupt() = 0;
  // Ends the stream from the server side with a close frame of `code` (1000 normal,
  // 1001 going away when the worker shuts down).
  virtual void hang_up(std::uint16_t code, std::string reason) = 0;
};

// Thread-safe.
class LiveCalls {
 public:
  explicit LiveCalls(std::size_t max_calls);

  enum class Admission { kAdmitted, kOverCapacity, kDuplicate };
  // Admits a call unless the limit is reached or the sid already has a live stream
  // (Twilio allows one bidirectional stream per call: a second one is a forgery or a bug).
  Admission admit(const std::string& call_sid, std::weak_ptr<LiveCallHandle> handle);
  // Removes the entry; called once by the session `admit` let in, when it ends.
  void release(const std::string& call_sid);

  std::shared_ptr<LiveCallHandle> find(std::string_view call_sid) const;
  std::size_t size() const;
  std::size_t max_calls() const { return max_calls_; }
  std::vector<std::string> call_sids() const;

 private:
  const std::size_t max_calls_;
  mutable std::mutex mutex_;
  std::map<std::string, std::weak_ptr<LiveCallHandle>, std::less<>> calls_;
};

}  // namespace voxgate::call

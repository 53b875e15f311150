// Twilio's recording storage, as `voxgate sim --mode recording` needs it: when a simulated
// caller finishes a <Record>, the caller's audio is kept here and the server fetches it from
// the RecordingUrl the action POST names, the way it fetches from api.twilio.com
// (twilio-protocol.md §2.2):
//
//   GET    /2010-04-01/Accounts/{AccountSid}/Recordings/{RecordingSid}[.wav]   -> audio/x-wav
//   DELETE /2010-04-01/Accounts/{AccountSid}/Recordings/{RecordingSid}.json    -> 204
//
// Both need HTTP Basic auth `AccountSid:auth_token` when an auth token is set (401 otherwise);
// an unknown recording is 404. Recordings are 8 kHz 16-bit PCM WAV, Twilio's default format.
// Point the server's `twilio.recording_hosts` at this host (e.g. "127.0.0.1") and, to let it
// delete what it has transcribed, `twilio.api_base_url` at base_url().
//
// Contract:
// - The constructor binds and starts serving on a thread of its own; it throws
//   std::runtime_error when it cannot bind (a usage error of the sim). The destructor stops
//   the thread and closes every connection.
// - add(), base_url() and the counters are thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace voxgate::sim {

class RecordingHost {
 public:
  // Serves on `bind_host`:`port` (0: any free port). `auth_token` "" serves without auth.
  RecordingHost(const std::string& bind_host, std::uint16_t port, std::string auth_token);
  ~RecordingHost();
  RecordingHost(const RecordingHost&) = delete;
  RecordingHost& operator=(const RecordingHost&) = delete;

  // Keeps `mulaw_8k` as a new recording of `account_sid`; returns its RecordingUrl (no
  // extension, as Twilio sends it) and its RecordingSid.
  struct Added {
    std::string url;
    std::string recording_sid;
  };
  Added add(const std::string& account_sid, std::span<const std::uint8_t> mulaw_8k);

  // http://HOST:PORT, the host as bound.
  std::string base_url() const;

  std::size_t downloads() const { return downloads_.load(); }
  std::size_t deletions() const { return deletions_.load(); }
  std::size_t refused() const { return refused_.load(); }  // 401s
  std::size_t stored() const;                               // recordings not deleted

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<std::size_t> downloads_{0}, deletions_{0}, refused_{0};
};

}  // namespace voxgate::sim

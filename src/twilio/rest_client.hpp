// Twilio's REST API, the parts voxgate needs while a call is live (twilio-protocol.md §5):
// pushing new TwiML into a call or redirecting it, hanging it up, downloading a <Record>
// recording and deleting it afterwards. Requests go to
// {api_base_url}/2010-04-01/Accounts/{AccountSid}/…, with HTTP Basic AccountSid:AuthToken
// and form-encoded bodies, through the project's async HTTP client (http/client.hpp).
//
// Contract:
// - `RestClient` is thread-safe and immutable after construction; any method may be called
//   from any thread. The http::Client (not null) must allow the API host and, for downloads,
//   the recording host. The executor must run handlers one at a time (a strand or a
//   one-thread io_context), as for http::Client.
// - Every method returns a handle and calls `done` exactly once, through the executor it was
//   given and never inline (argument errors too are posted), unless the handle is cancelled
//   first. `cancel()` called on that executor guarantees no callback runs afterwards; it also
//   stops a download's pending retry timer. Called elsewhere, it still silences the callback,
//   but the timer is released later, on the executor. Dropping the handle does not cancel.
// - Errors (util::Error): kInvalidInput for arguments refused before sending (a SID that is
//   not alphanumeric, TwiML over 4000 characters, empty TwiML or URL) and for Twilio's 4xx
//   answers other than 401/403/404/429; kUnavailable for missing credentials, 401/403 (with
//   Twilio's message), 429, 5xx and connection failures; kTimeout when `timeout` passes.
//   A 404 on a call update means the call has already ended: kInvalidInput "call … has
//   already ended" for TwiML and redirects, success for `hang_up`.
// - Error messages and logs carry Twilio's code and message, the SID and the HTTP status,
//   never the auth token.
// - `download_recording` fetches the URL it is given as is and does NOT check its host: the
//   caller checks `twilio.recording_hosts` first (the http::Client's allow-list is the last
//   line of defence), so our credentials are only ever sent to Twilio.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "http/client.hpp"
#include "util/result.hpp"

namespace voxgate::twilio {

struct RestClientOptions {
  // settings twilio.api_base_url, without /2010-04-01
  std::string api_base_url = "https://api.twilio.com";
  std::string account_sid;
  std::string auth_token;
  std::chrono::milliseconds timeout{10'000};  // each HTTP exchange, retries each get their own
  // Recording downloads: Twilio may answer 404 for a short while after the <Record> action
  // request (§2.2), so 404 is retried after first_retry_delay, doubling each time, until
  // download_attempts requests were made in all.
  int download_attempts = 5;
  std::chrono::milliseconds first_retry_delay{250};
  std::size_t max_recording_bytes = 64u << 20;
};

// The answer to a call update.
struct CallUpdate {
  int status = 0;           // HTTP status: 200, or 404 when hang_up found the call already ended
  std::string call_status;  // the call's "status" in Twilio's answer ("in-progress",
                            // "completed", …); "completed" for an already-ended call
};

struct Recording {
  std::string bytes;
  std::string content_type;  // as served; if absent, audio/mpeg for a .mp3 URL, else audio/x-wav
  int attempts = 0;          // HTTP requests it took (1 unless 404s were retried)
};

// The cancellable handle every call returns; see the contract above.
using RestCall = std::shared_ptr<http::Transfer>;

class RestClient {
 public:
  static constexpr std::size_t kMaxTwimlChars = 4000;  // Twilio's limit on the Twiml parameter

  RestClient(std::shared_ptr<http::Client> http, RestClientOptions options);

  // POST Calls/{call_sid}.json with Twiml=…: the call continues with this TwiML at once.
  // More than kMaxTwimlChars characters (UTF-8 code points) is refused without a request.
  RestCall update_call_twiml(std::string call_sid, std::string twiml,
                             boost::asio::any_io_executor executor,
                             std::function<void(util::Result<CallUpdate>)> done) const;

  // POST Calls/{call_sid}.json with Url=…&Method=POST: the call fetches new TwiML from url.
  RestCall redirect_call(std::string call_sid, std::string url,
                         boost::asio::any_io_executor executor,
                         std::function<void(util::Result<CallUpdate>)> done) const;

  // POST Calls/{call_sid}.json with Status=completed. A call that already ended (404, Twilio
  // code 20404) counts as success: CallUpdate{404, "completed"}.
  RestCall hang_up(std::string call_sid, boost::asio::any_io_executor executor,
                   std::function<void(util::Result<CallUpdate>)> done) const;

  // DELETE Recordings/{recording_sid}.json. The value is true when this request deleted the
  // recording (204), false when it was already gone (404).
  RestCall delete_recording(std::string recording_sid, boost::asio::any_io_executor executor,
                            std::function<void(util::Result<bool>)> done) const;

  // GET recording_url as given (Twilio's RecordingUrl has no extension and serves WAV; add
  // .mp3 for MP3), with Basic auth. 404 is retried (see RestClientOptions), then kUnavailable
  // "recording not available after N attempts"; an empty body is kInvalidInput; a body over
  // max_recording_bytes fails with the http::Client's kInvalidInput.
  RestCall download_recording(std::string recording_url, boost::asio::any_io_executor executor,
                              std::function<void(util::Result<Recording>)> done) const;

 private:
  std::shared_ptr<http::Client> http_;
  RestClientOptions options_;
};

// The recording SID at the end of a recording URL:
// "https://api.twilio.com/2010-04-01/Accounts/AC…/Recordings/RE…" → "RE…", also with a .wav,
// .mp3 or .json suffix or a query string. "" when the URL's last path segment does not follow
// "/Recordings/" or is not "RE" followed by letters and digits.
std::string recording_sid_of(std::string_view recording_url);

}  // namespace voxgate::twilio

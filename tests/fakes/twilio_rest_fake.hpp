// A local stand-in for the parts of Twilio's REST API voxgate uses during a call
// (twilio-protocol.md §5). It listens on 127.0.0.1 on an ephemeral port and is written from
// the documented wire format alone, with Beast, so a misreading in src/twilio cannot hide in
// both. Routes, all under /2010-04-01/Accounts/{AccountSid}/:
//
//   GET    Recordings/{RE}, Recordings/{RE}.wav   the recording's bytes (its content type,
//          default audio/x-wav); Recordings/{RE}.mp3 only when MP3 bytes were added
//   POST   Calls/{CA}.json   form body with Twiml | Url [+ Method] | Status=completed; records
//          the update and answers 200 with a call JSON {"sid","account_sid","status",...}:
//          status "completed" after Status=completed (the call then counts as ended), else
//          "in-progress"
//   DELETE Recordings/{RE}.json   204 with no body; the recording is gone afterwards
//
// Every request must carry HTTP Basic auth with the configured AccountSid:AuthToken, else 401
// {"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003",
// "status":401}. Unknown recordings, ended calls and other paths answer 404 with code 20404; a
// route with the wrong method 405; a call update without Twiml, Url or Status, or with a Twiml
// over 4000 characters, 400 (codes illustrative: 21201 and 21220). Errors are Twilio error JSON
// {"code","message","more_info","status"}. HTTP/1.1 keep-alive is honoured.
//
// Thread safety: the server runs on its own io_context thread; every public method may be
// called from any thread. Each request is recorded (under a mutex) before its answer is sent.
// The destructor stops the thread and drops every open connection.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace voxgate::testing {

using FormFields = std::vector<std::pair<std::string, std::string>>;

// One POST Calls/{CA}.json that passed authentication, whatever its answer.
struct TwilioCallUpdate {
  std::string call_sid;
  FormFields form;      // decoded, in order
  unsigned status = 0;  // the answer's HTTP status

  // The first value of this field, or "" if absent.
  std::string field(std::string_view name) const;
  bool has(std::string_view name) const;
};

struct TwilioRequest {
  std::string method;
  std::string target;                                        // as sent
  std::string path;                                          // without the query
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased, in order
  std::string body;
  unsigned status = 0;  // the answer's status

  std::string header(std::string_view name) const;  // first with this name (any case), or ""
};

class TwilioRestFake {
 public:
  static constexpr std::string_view kDefaultAccountSid = "AC0123456789abcdef0123456789abcdef";
  static constexpr std::string_view kDefaultAuthToken = "fake_auth_token_0123456789abcdef";

  // Listens on 127.0.0.1:0 and starts serving at once. Throws boost::system::system_error if
  // the socket cannot be opened.
  explicit TwilioRestFake(std::string account_sid = std::string(kDefaultAccountSid),
                          std::string auth_token = std::string(kDefaultAuthToken));
  ~TwilioRestFake();
  TwilioRestFake(const TwilioRestFake&) = delete;
  TwilioRestFake& operator=(const TwilioRestFake&) = delete;

  unsigned short port() const;
  std::string base_url() const;  // "http://127.0.0.1:PORT", no trailing slash
  const std::string& account_sid() const;
  const std::string& auth_token() const;
  // base_url() + "/2010-04-01/Accounts/{AC}/Recordings/{sid}", as in a RecordingUrl.
  std::string recording_url(std::string_view sid) const;

  // Configuration; takes effect from the next request read.
  void add_recording(std::string sid, std::string bytes, std::string content_type = "audio/x-wav");
  void add_recording_mp3(std::string sid, std::string bytes);  // served at .mp3
  // The next n GETs of this recording answer 404 (20404), as right after <Record> ends.
  void set_not_ready(std::string_view sid, int n_requests);
  // Updates of this call answer 404 (20404) from now on.
  void end_call(std::string call_sid);

  // Inspection.
  std::vector<TwilioCallUpdate> call_updates() const;
  std::vector<std::string> deleted_recordings() const;
  std::vector<TwilioRequest> requests() const;  // every request, in arrival order
  std::size_t request_count() const;
  std::size_t recording_gets() const;  // GETs of recordings, 404s included
  std::size_t unauthorized_count() const;
  std::size_t connections_accepted() const;
  bool has_recording(std::string_view sid) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace voxgate::testing

// One simulated Twilio call for `voxgate sim`, placed the way Twilio places it:
//
//   POST {url}/phone/incoming-call-streaming (signed) ──> TwiML
//     <Connect><Stream url> ──> WebSocket: connected, start, media every 20 ms (caller script),
//                               dtmf, stop; server media/mark/clear played by a FarEnd
//     WebSocket closed ──> the verbs after </Connect>: <Redirect> is POSTed (signed) and its
//                          TwiML followed: <Hangup/> ends, <Dial> transfers, <Connect><Stream>
//                          connects again and the script goes on, <Record> is a fallback.
//
// URLs in the TwiML (wss://public-host/…, https://public-host/…) are requested at the host and
// port of `url` with the same path and query, and signed over the URL as written in the TwiML,
// as Twilio signs what it requests (twilio-protocol.md §4.1; the WebSocket upgrade over the
// wss:// URL with no params).
//
// Caller frames go out on a steady schedule (frame k of a stream at start + 20k ms, never
// accumulated from send times). Mark echoes are checked on that 20 ms tick and whenever a server
// message arrives, so an echo is at most one tick late.
//
// Measurements (results.hpp): a caller turn is one Say or SayWhileTalking step. Its speech is
// the frames louder than -40 dBFS; speech end is when the last of them was sent. A reply starts
// with a media frame arriving while nothing was playing and ends once the far end has been idle
// (buffer empty, no pending mark) for 250 ms. Turn latency: speech end -> the first reply start
// after it. Barge-in: the first speech frame sent while a reply played -> the next `clear`.
//
// Contract:
// - run_call returns at once; the call runs on its own strand of `io` (no threads, no sleeps).
// - `done` is called exactly once, on that strand, whatever happens: refused upgrade, connection
//   errors, bad TwiML, deadline. CallResult::ok is true when the call ended as scripted: by a
//   script Hangup (or the script's end), or by the server with close code 1000 and TwiML that
//   hangs up or dials; a fallback to <Record>, a WaitForReply timeout or any error make it false.
// - No exceptions escape (std::bad_alloc aside).
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "sim/results.hpp"

namespace voxgate::sim {

// Script steps. Audio is raw 8 kHz mu-law; between and after steps the caller sends silence.
struct Say {
  std::vector<std::uint8_t> mulaw;
};
// Silence until a reply has started and finished playing (its marks echoed as played), or
// `timeout` (then the call is marked failed and the script goes on).
struct WaitForReply {
  std::chrono::milliseconds timeout{15000};
};
struct Pause {
  std::chrono::milliseconds duration{0};
};
// Barge-in: silence until a reply has been playing for `after`, then speak over it. If no reply
// plays within `timeout`, the call is marked failed and the audio is said anyway.
struct SayWhileTalking {
  std::vector<std::uint8_t> mulaw;
  std::chrono::milliseconds after{500};
  std::chrono::milliseconds timeout{15000};
};
struct Dtmf {
  std::string digit;  // one of 0-9 * # A-D
};
// `stop`, then close 1000.
struct Hangup {};

using Step = std::variant<Say, WaitForReply, Pause, SayWhileTalking, Dtmf, Hangup>;

class RecordingHost;

// Which webhook the call is placed on: /phone/incoming-call-streaming (Media Streams) or
// /phone/incoming-call (<Record> turns).
enum class CallMode { kStreaming, kRecording };

struct CallRunnerOptions {
  CallMode mode = CallMode::kStreaming;
  std::string url;         // the server, http://HOST:PORT
  std::string auth_token;  // "" = do not sign
  std::string public_url;  // the base URL the server believes it has; "" = url
  std::vector<Step> script;
  std::chrono::milliseconds deadline{60000};  // the whole call, from the webhook POST
  // The AccountSid sent with webhooks and owning recordings; "" = a random one per call.
  // Recording mode needs the server's TWILIO_ACCOUNT_SID here: it downloads with it.
  std::string account_sid;
  // Where <Record> audio is kept for the server to download; needed in recording mode.
  RecordingHost* recordings = nullptr;
  // Keep both sides of the call in CallResult (caller_audio, agent_audio).
  bool keep_audio = false;
  std::string from = "+15005550006";
  std::string to = "+15005550001";
};

void run_call(boost::asio::io_context& io, CallRunnerOptions options,
              std::function<void(CallResult)> done);
// The same for many calls of one script: they share `options` (and the script's audio).
void run_call(boost::asio::io_context& io, std::shared_ptr<const CallRunnerOptions> options,
              std::function<void(CallResult)> done);

// "CA"/"MZ"/"AC" + 32 random lower-case hex digits.
std::string random_sid(const char* prefix);

}  // namespace voxgate::sim

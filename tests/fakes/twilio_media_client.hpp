// A local stand-in for Twilio's side of a bidirectional Media Stream (<Connect><Stream>), for
// integration tests and load benchmarks: it dials voxgate's WebSocket, plays a caller's
// mu-law audio into it at real time, and plays what comes back on a simulated phone line.
//
// It speaks the wire protocol as Twilio's documentation shows it (shared/twilio-protocol.md
// §1), written from that document alone with Boost.JSON rather than with voxgate's own
// protocol code, so a misreading of the protocol in src/twilio cannot hide in both:
//
//   -> {"event":"connected","protocol":"Call","version":"1.0.0"}
//   -> {"event":"start","sequenceNumber":"1","start":{accountSid,streamSid,callSid,
//        tracks:["inbound"],mediaFormat:{audio/x-mulaw,8000,1},customParameters},streamSid}
//   -> {"event":"media","sequenceNumber":"N","media":{"track":"inbound","chunk":"K",
//        "timestamp":"T","payload":base64},"streamSid"}     every 20 ms, 160 bytes each
//   -> {"event":"dtmf",...,"dtmf":{"track":"inbound_track","digit":"5"}}  at script offsets
//   -> {"event":"mark",...,"mark":{"name":...}}             echo, see "far end" below
//   -> {"event":"stop",...,"stop":{"accountSid","callSid"}} then a normal close (1000)
//   <- media / mark / clear                                 from the server
//
// Numeric fields are JSON strings (sequenceNumber, chunk, timestamp); sampleRate and channels
// are numbers. sequenceNumber counts every message after `connected`, echoes included.
// media.timestamp is the frame's scheduled time in ms from the stream start (when `start` is
// sent), i.e. 20 * (chunk - 1); dtmf offsets and `linger` are measured from the same moment.
//
// Far end: outbound audio goes into a playout buffer that plays at 1x real time, starting at
// arrival when the buffer was empty. A `mark` is echoed when everything queued before it has
// played (at once if nothing is queued); `clear` empties the buffer and echoes every pending
// mark at once. Marks still pending when the stream ends are never echoed, as on a real call
// that hangs up.
//
// Contract: run_stream() returns at once; all work happens on a strand of `io` with timers (no
// thread per stream), so many streams can share one io_context, single- or multi-threaded.
// `done` is called exactly once, on that strand, whatever happens: upgrade refused, server
// closes at any time, network error, or the overall deadline (length of the audio and dtmf
// script + linger + 10 s) after which the stream is closed and reported. Callbacks of
// different streams may run concurrently on a multi-threaded io_context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace voxgate::testing {

struct StreamScript {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  std::string path;  // request target of the upgrade, e.g. /phone/stream-audio/CA123
  // Extra headers on the upgrade request, e.g. {"x-twilio-signature", "..."}.
  std::vector<std::pair<std::string, std::string>> upgrade_headers;

  std::string account_sid = "AC00000000000000000000000000000000";
  std::string call_sid;                                  // "CA" + 32 random hex digits if empty
  std::string stream_sid;                                // "MZ" + 32 random hex digits if empty
  std::map<std::string, std::string> custom_parameters;  // start.customParameters

  // The caller's voice: mu-law at 8 kHz, sent as 160-byte (20 ms) media frames on a steady
  // clock schedule (frame k is due at start + 20k ms; late wake-ups catch up, they do not
  // drift). A last partial frame is padded with mu-law silence (0xFF).
  std::vector<std::uint8_t> caller_audio;
  // Keypresses: (offset from the stream start, digit).
  std::vector<std::pair<std::chrono::milliseconds, std::string>> dtmf;
  // How long to keep the stream open after the audio and the last dtmf, to hear replies.
  std::chrono::milliseconds linger{0};
  // true: send `stop` then close with 1000; false: drop the TCP connection without a word,
  // like a network failure.
  bool send_stop = true;
  bool send_connected = true;
  bool send_start = true;
};

struct StreamReport {
  bool connected = false;     // the WebSocket upgrade succeeded
  std::string upgrade_error;  // e.g. "HTTP 403 Forbidden: <body>" or a connect error
  // From the server's close frame, if one came (also after our own close: its reply).
  std::optional<std::uint16_t> close_code;
  std::string close_reason;
  // Why the stream ended, if not by a clean close handshake: a transport error, "deadline"
  // when the overall deadline expired, or empty.
  std::string error;
  bool deadline_expired = false;

  std::size_t media_frames_sent = 0;              // media messages written to the socket
  std::size_t media_frames_received = 0;          // 20 ms frames of audio from the server
  std::size_t bytes_received = 0;                 // decoded mu-law bytes in them
  std::vector<std::string> marks_echoed_played;   // echoes sent after the audio played
  std::vector<std::string> marks_echoed_cleared;  // echoes sent because of a clear
  std::size_t clears_received = 0;
  std::vector<double> clear_times_ms;  // when each clear arrived, in ms from the stream start
  std::size_t dtmf_sent = 0;
  // Messages we could not take as documented: not JSON or not text, an unknown event, a
  // missing field, bad base64, or a streamSid other than ours.
  std::size_t unexpected_messages = 0;
  // Per received media frame: arrival time minus the time it is due to start playing, in ms.
  // Negative: it arrived early and waited in the buffer. Positive: the buffer had run dry
  // mid-utterance, so the caller heard a gap of that length (an underrun). A frame that
  // arrives at an empty buffer after a mark or clear, or as the first one, starts a new
  // utterance and scores 0: silence between utterances is not lateness.
  std::vector<double> media_arrival_lateness_ms;
  std::vector<std::uint8_t> received_audio;  // all outbound mu-law, in arrival order
  std::chrono::milliseconds duration{0};     // from run_stream() to done
};

// Runs one stream on `io`; calls `done` once with the report (see the contract above).
void run_stream(boost::asio::io_context& io, StreamScript script,
                std::function<void(StreamReport)> done);

// Convenience for tests: runs one stream on its own io_context, on the calling thread, to
// completion.
StreamReport run_stream_blocking(StreamScript script);

}  // namespace voxgate::testing

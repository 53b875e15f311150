// Twilio Media Streams messages: the JSON text frames of the stream WebSocket.
//
// Inbound (Twilio -> us) messages are parsed into plain structs, one per event of
// twilio-protocol.md §1.2: connected, start, media, dtmf, mark, stop. Outbound (us -> Twilio,
// bidirectional <Connect><Stream> only) messages are built in the exact shapes of §1.3: media,
// mark, clear. Audio stays base64 here: inbound payloads are handed on as received (the audio
// side decodes them) and outbound payloads are encoded from raw mu-law.
//
// Inbound rules (§1.1, §1.2):
// - `sequenceNumber`, `media.chunk` and `media.timestamp` arrive as JSON strings of digits
//   ("3"); plain non-negative JSON integers are accepted too. Anything else (negative numbers,
//   fractions, signs, spaces, empty strings, values above UINT64_MAX) is an error.
// - `mediaFormat.sampleRate` and `mediaFormat.channels` arrive as JSON numbers; digit strings
//   are accepted as well. Values above INT_MAX are an error.
// - Required fields: `event`; start: `start.streamSid`, `start.callSid`; media:
//   `media.payload`; dtmf: `dtmf.digit` (one of 0-9 * # A-D); mark: `mark.name`. The event
//   objects `start`, `media`, `dtmf` and `mark` are therefore required as well; `stop` is not.
// - Any other documented field may be absent (it then keeps its default value), but when present
//   it must have the documented type.
// - Errors name the field, dotted from the top level: "media.payload: missing",
//   "sequenceNumber: expected a string of digits or a non-negative integer".
// - Unknown events give UnknownMessage (a newer Twilio may add events; the caller counts
//   them). Unknown fields, at the top level or anywhere inside the event's object, are ignored
//   and counted in ParseResult::unknown_fields. The top-level `streamSid` is read from media,
//   dtmf, mark and stop; start takes its stream SID from `start.streamSid` and only type-checks
//   the top-level copy.
// - JSON must be one complete, valid UTF-8 document whose top level is an object; a duplicated
//   key keeps its last value (Boost.JSON's rule).
//
// Contract:
// - No exceptions for bad input: every problem of the text gives ParseResult::error. Only
//   std::bad_alloc can escape.
// - InboundParser keeps buffers between calls so that the ~50 media messages per second of a
//   call parse without rebuilding them; it is not thread-safe: one per stream, used on the
//   stream's strand. The outbound builders are pure functions, safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace voxgate::twilio {

// {"event":"connected","protocol":"Call","version":"1.0.0"}: first message of every stream.
struct ConnectedMessage {
  std::string protocol;
  std::string version;
};

struct MediaFormat {
  std::string encoding;  // "audio/x-mulaw" (§1.2: always)
  int sample_rate_hz = 0;
  int channels = 0;
};

// Sent once, after `connected`, with sequenceNumber "1".
struct StartMessage {
  std::optional<std::uint64_t> sequence_number;
  std::string stream_sid;   // start.streamSid, "MZ" + 32 hex
  std::string account_sid;  // "" when absent
  std::string call_sid;
  std::vector<std::string> tracks;  // "inbound", "outbound"
  MediaFormat media_format;
  // The <Parameter> pairs of the TwiML; values must be JSON strings.
  std::map<std::string, std::string> custom_parameters;
};

// One chunk of audio (20 ms = 160 mu-law bytes in practice, §1.4; not guaranteed).
struct MediaMessage {
  std::optional<std::uint64_t> sequence_number;
  std::string stream_sid;
  std::string track;               // "inbound" or "outbound" (no "_track" suffix here, §1.2)
  std::uint64_t chunk = 0;         // 1-based per-message counter; 0 when absent
  std::uint64_t timestamp_ms = 0;  // ms since the stream started; 0 when absent
  std::string payload;             // base64, as received, not yet checked or decoded
};

// A key press (bidirectional streams only).
struct DtmfMessage {
  std::optional<std::uint64_t> sequence_number;
  std::string stream_sid;
  std::string track;  // "inbound_track"
  std::string digit;  // exactly one of 0-9 * # A-D
};

// The echo of a mark we sent: its audio was played, or discarded by a `clear` (§1.3).
struct MarkMessage {
  std::optional<std::uint64_t> sequence_number;
  std::string stream_sid;
  std::string name;
};

// The stream ended (call hung up or stream stopped).
struct StopMessage {
  std::optional<std::uint64_t> sequence_number;
  std::string stream_sid;
  std::string account_sid;
  std::string call_sid;
};

// A well-formed message whose event we do not know; tolerated, counted by the caller.
struct UnknownMessage {
  std::string event;
};

using InboundMessage = std::variant<ConnectedMessage, StartMessage, MediaMessage, DtmfMessage,
                                    MarkMessage, StopMessage, UnknownMessage>;

struct ParseResult {
  // The message, or nullopt when the text was rejected.
  std::optional<InboundMessage> message;
  // Empty on success; otherwise one sentence naming the field or the JSON error. It never quotes
  // field values (they come from outside and could be anything).
  std::string error;
  // Keys we do not know, at the top level and inside the event's object (also on error: the
  // count reached before the error was found).
  std::size_t unknown_fields = 0;

  bool ok() const { return message.has_value(); }
};

// Parses inbound text frames. Reusable; one per stream; not thread-safe. Movable; a moved-from
// parser may only be destroyed or assigned to.
class InboundParser {
 public:
  InboundParser();
  ~InboundParser();
  InboundParser(InboundParser&&) noexcept;
  InboundParser& operator=(InboundParser&&) noexcept;
  InboundParser(const InboundParser&) = delete;
  InboundParser& operator=(const InboundParser&) = delete;

  // Parses one complete text frame. Never throws for bad input (see the rules above).
  ParseResult parse(std::string_view text);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Outbound messages (§1.3), compact JSON with exactly the documented fields. Strings are escaped
// by Boost.JSON, so any stream SID or mark name gives valid JSON.

// {"event":"media","streamSid":"MZ…","media":{"payload":"<base64>"}}: `mulaw` is raw
// 8000 Hz mu-law, no file header (§1.3, §6 pitfall 7). Any length is allowed by Twilio; we send
// 160-byte frames (§6 pitfall 6).
std::string media_message(std::string_view stream_sid, std::span<const std::uint8_t> mulaw);

// {"event":"mark","streamSid":"MZ…","mark":{"name":"…"}}: Twilio echoes it once the audio sent
// before it has played, or at once when a clear discards that audio (§1.3).
std::string mark_message(std::string_view stream_sid, std::string_view name);

// {"event":"clear","streamSid":"MZ…"}: empties Twilio's playout buffer (barge-in, §6 pitfall 2).
std::string clear_message(std::string_view stream_sid);

}  // namespace voxgate::twilio

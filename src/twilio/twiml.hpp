// A small TwiML document builder: the verbs voxgate answers calls with (twilio-protocol.md §2 for
// recording mode, §1.5/§1.6 for <Connect><Stream>).
//
// Contract:
// - Every text and attribute value is XML-escaped (& < > " '); characters XML 1.0 cannot carry
//   (C0 controls other than tab, newline and CR; U+FFFE, U+FFFF; surrogates; malformed UTF-8)
//   are dropped, so the output is always well-formed.
// - Output is deterministic: attributes appear in the order documented on each verb, and a
//   string attribute left empty is omitted (Twilio then applies its own default).
// - Nothing is rejected silently and nothing throws: the builder emits what it is given, and
//   TwimlResponse::validate() reports <Stream> options Twilio would refuse.
// - TwimlResponse is a plain value type: const members may be called from many threads, but
//   building one from several threads needs outside synchronisation (like std::string).
// - Twilio rejects documents over 64 kB with error 11750 (§2.1); check size_bytes().
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace voxgate::twilio {

// One XML attribute, value unescaped.
struct Attribute {
  std::string name;
  std::string value;
};

// <Record> (§2.2). Attributes are written in this order:
// action, method, timeout, maxLength, playBeep, trim, finishOnKey, recordingStatusCallback.
struct RecordOptions {
  std::string action;  // empty = omitted (Twilio then posts back to the current document URL)
  std::string method = "POST";
  int timeout_s = 3;      // seconds of silence that end the recording; 0 disables
  int max_length_s = 30;  // Twilio requires > 1
  bool play_beep = true;
  std::string trim = "trim-silence";
  std::string finish_on_key;              // empty = omitted (Twilio default: any key)
  std::string recording_status_callback;  // empty = omitted
};

// <Connect><Stream> (§1.5). Stream attributes are written in the order url, name, statusCallback;
// each parameter becomes <Parameter name=".." value=".."/> and shows up in the `start`
// message's customParameters (§1.2).
struct StreamOptions {
  std::string url;              // wss:// URL (or relative); Twilio forbids a query string
  std::string name;             // empty = omitted
  std::string status_callback;  // empty = omitted
  std::vector<std::pair<std::string, std::string>> parameters;
};

class TwimlResponse {
 public:
  // <Say voice="..">text</Say>; voice omitted when empty.
  TwimlResponse& say(std::string_view text, std::string_view voice = {});
  // <Play>url</Play>
  TwimlResponse& play(std::string_view url);
  // <Pause length="N"/>
  TwimlResponse& pause(int length_s);
  // <Record .../>, attributes as listed on RecordOptions.
  TwimlResponse& record(const RecordOptions& options);
  // <Redirect method="..">url</Redirect>; method omitted when empty.
  TwimlResponse& redirect(std::string_view url, std::string_view method = "POST");
  // <Connect><Stream url=".." ...><Parameter name=".." value=".."/>...</Stream></Connect>.
  // Emitted even when validate(options) reports a problem.
  TwimlResponse& connect_stream(const StreamOptions& options);
  // <Dial>number</Dial>
  TwimlResponse& dial(std::string_view number);
  // <Hangup/>
  TwimlResponse& hangup();

  // `<?xml version="1.0" encoding="UTF-8"?>` followed by `<Response>...</Response>`, or by
  // `<Response/>` when no verb was added.
  std::string str() const;
  // str().size(), without building the string.
  std::size_t size_bytes() const;

  // Why Twilio would refuse these <Stream> options, or nullopt when they look acceptable:
  // empty url; url that is not a URI reference, has a query string, or is absolute with a
  // scheme other than wss (§1.5); a parameter with an empty or repeated name; a parameter whose
  // name + value is 500 bytes or more (Twilio's limit is < 500 characters; bytes are counted,
  // which is the stricter reading for non-ASCII text).
  static std::optional<std::string> validate(const StreamOptions& options);

 private:
  // Appends <name attrs...>text</name>, or <name attrs.../> when `text` is empty.
  void append_element(std::string_view name, std::span<const Attribute> attributes,
                      std::string_view text);
  static void append_open_tag(std::string& out, std::string_view name,
                              std::span<const Attribute> attributes, bool self_closing);

  std::string verbs_;  // serialized verbs, in order
};

// Escapes & < > " ' as entity references and drops what XML 1.0 cannot carry (see above).
// Tab, newline and CR pass through unchanged.
std::string xml_escape(std::string_view text);

// The WebSocket form of an http(s) URL: https:// -> wss://, http:// -> ws:// (development
// only: Twilio itself connects to wss:// alone, twilio-protocol.md §1.5). Other URLs are
// returned unchanged.
std::string websocket_url_of(std::string_view http_url);

}  // namespace voxgate::twilio

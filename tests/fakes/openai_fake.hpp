// A local stand-in for the HTTP services voxgate's engine backends call: the OpenAI-compatible
// transcription, chat completion and speech endpoints, and a user's agent webhook. It listens on
// 127.0.0.1 on an ephemeral port and speaks the documented wire format (OpenAI API reference),
// written from that format alone with Beast and Boost.JSON rather than with voxgate's own HTTP
// and protocol code, so a misreading in src/ cannot hide in both:
//
//   POST /v1/audio/transcriptions  multipart/form-data: file (a WAV, with filename and
//        Content-Type), model, [language], [response_format json|text|verbose_json]
//        -> {"text": transcript}  |  transcript + "\n" as text/plain  |  {"text","language",
//        "duration"} for verbose_json
//   POST /v1/chat/completions      {"model","messages":[{role,content}],[tools],[stream],
//        [stream_options.include_usage]} -> a chat.completion object, or with "stream":true a
//        text/event-stream in chunked transfer encoding, one event per chunk:
//          data: {chunk: delta {role:"assistant",content:""}}
//          data: {chunk: delta {content:"Hello"}}  ... the reply in pieces of 1-3 words
//          data: {chunk: delta {tool_calls:[{index:0,id:"call_...",type:"function",
//                 function:{name,arguments:""}}]}}      only if a tool call is configured
//          data: {chunk: delta {tool_calls:[{index:0,function:{arguments:"<fragment>"}}]}} ...
//          data: {chunk: delta {}, finish_reason:"stop"|"tool_calls"}
//          data: {chunk: choices [], usage {...}}        only with include_usage
//          data: [DONE]
//   POST /v1/audio/speech          {"model","input","voice","response_format":"pcm"|"wav"}
//        -> 24 kHz 16-bit mono little-endian: raw (audio/pcm) or a WAV file (audio/wav), sent
//        in chunked transfer encoding. The audio is a 300 Hz tone at amplitude 8000, 60 ms per
//        character (code point) of input, so longer text gives proportionally longer audio.
//   POST <webhook path, default /agent>  any JSON -> the configured JSON text
//
// Every /v1 route checks `Authorization: Bearer <key>` when a key is required (401 otherwise),
// then validates the request (400 with {"error":{"message","type":"invalid_request_error",
// "param","code"}} on a missing or malformed field, a non-RIFF/WAVE file, a broken multipart
// body, an unsupported format, empty speech input). Another path answers 404 and a method
// other than POST 405, both with an error JSON. HTTP/1.1 keep-alive is honoured, and
// `Expect: 100-continue` is answered (libcurl sends it for larger uploads).
//
// Failure injection, per route (Failure below). First `delay` passes on an async timer (other
// connections are served meanwhile), then the mode acts:
//   kNone               the normal answer (including any 400/401 the request earns).
//   kServerError        500 {"error":{"message":...,"type":"server_error"}}, whatever was asked.
//   kMalformed          a valid request gets a broken 200: transcriptions, non-streaming chat
//                       and the webhook send truncated JSON as application/json; streaming chat
//                       sends the role chunk, then a garbled event (`data: ` + truncated JSON +
//                       a blank line), then drops the connection without the last chunk; speech
//                       sends text that is not audio with the requested Content-Type (for wav,
//                       no RIFF header; for pcm, an odd number of bytes). Invalid requests still
//                       get their 400/401.
//   kCloseWithoutAnswer the request is read, then the connection is closed with no answer.
//   kStall              streaming chat: after the auth and validation checks, the headers, the
//                       role chunk and the first `stall_after_chunks` content chunks are sent,
//                       then nothing more (the connection stays open). Any other request: no
//                       answer at all, the connection stays open. A stalled connection ends
//                       when the client closes it or the fake is destroyed.
//
// Thread safety: the server runs on its own io_context thread; every public method may be
// called from any thread at any time. Configuration is read once per request when the request
// has been read, so a change affects the next request, not one already in progress. Every
// request is recorded (under a mutex) before its answer is sent. The destructor stops the
// thread and drops every open connection.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace voxgate::testing {

enum class FakeRoute {
  kTranscriptions,   // /v1/audio/transcriptions
  kChatCompletions,  // /v1/chat/completions
  kSpeech,           // /v1/audio/speech
  kWebhook,          // the configured webhook path
  kUnknown,          // anything else (answered 404)
};

enum class FailureMode { kNone, kServerError, kMalformed, kCloseWithoutAnswer, kStall };

// How one route misbehaves; see the table in the file comment.
struct Failure {
  FailureMode mode = FailureMode::kNone;
  std::chrono::milliseconds delay{0};  // waited before the mode acts, in every mode
  std::size_t stall_after_chunks = 0;  // kStall on streaming chat: content chunks sent first

  static Failure none() { return {}; }
  static Failure delayed(std::chrono::milliseconds delay) { return {FailureMode::kNone, delay}; }
  static Failure server_error() { return {FailureMode::kServerError}; }
  static Failure malformed() { return {FailureMode::kMalformed}; }
  static Failure close_without_answer() { return {FailureMode::kCloseWithoutAnswer}; }
  static Failure stall(std::size_t after_chunks = 0) {
    return {FailureMode::kStall, std::chrono::milliseconds{0}, after_chunks};
  }
};

// What the fake found in an uploaded WAV file's header.
struct WavFacts {
  std::uint16_t format_tag = 0;  // 1 PCM, 3 IEEE float, 0xFFFE extensible
  std::uint32_t rate_hz = 0;
  std::uint16_t channels = 0;
  std::uint16_t bits_per_sample = 0;
  std::size_t n_samples = 0;   // per channel (sample frames) actually present in the data chunk
  std::size_t data_bytes = 0;  // bytes of the data chunk actually present
};

// One part of a multipart/form-data body, binary-safe.
struct FormPart {
  std::string name;
  std::optional<std::string> filename;  // present for file parts
  std::string content_type;             // empty if the part had none
  std::string data;
};

struct RecordedRequest {
  FakeRoute route = FakeRoute::kUnknown;
  std::string method;
  std::string target;                                        // as sent, with any query
  std::string path;                                          // target without the query
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased, in order
  std::string body;                                          // raw bytes
  // The answer's status; 0 when none was sent (closed or stalled before the headers).
  unsigned status = 0;
  std::optional<boost::json::value> json;  // the body, when it parsed as JSON
  std::vector<FormPart> form_parts;        // multipart bodies, when they parsed
  std::optional<WavFacts> wav;             // transcriptions: the `file` part's header

  // The first header with this name (any case), or "" if absent.
  std::string header(std::string_view name) const;
  // The first form part with this name, or nullptr.
  const FormPart* form_part(std::string_view name) const;
};

class OpenAiFake {
 public:
  static constexpr std::string_view kDefaultTranscript = "Hello, I would like to book a table.";
  static constexpr std::string_view kDefaultChatReply = "Sure, for how many people?";
  static constexpr std::string_view kDefaultWebhookPath = "/agent";
  static constexpr std::string_view kDefaultWebhookAnswer =
      R"({"reply":"Hello from the webhook.","action":null})";
  static constexpr std::uint32_t kSpeechRateHz = 24000;
  static constexpr std::size_t kSpeechSamplesPerChar = 1440;  // 60 ms at 24 kHz

  // Listens on 127.0.0.1:0 and starts serving at once. Throws boost::system::system_error
  // if the socket cannot be opened.
  OpenAiFake();
  ~OpenAiFake();
  OpenAiFake(const OpenAiFake&) = delete;
  OpenAiFake& operator=(const OpenAiFake&) = delete;

  unsigned short port() const;
  std::string base_url() const;     // "http://127.0.0.1:PORT", no trailing slash
  std::string webhook_url() const;  // base_url() + the webhook path

  // Configuration; each takes effect from the next request read.
  void set_transcript(std::string text);
  void set_chat_reply(std::string text);  // may be empty (e.g. a bare tool call)
  // The chat answer also calls this function; `arguments_json` is sent verbatim, in
  // fragments when streaming. finish_reason becomes "tool_calls".
  void set_tool_call(std::string name, std::string arguments_json);
  void clear_tool_call();
  void set_stream_chunk_delay(std::chrono::milliseconds delay);  // between SSE events; default 0
  void require_api_key(std::string key);                         // "" turns the check off
  void set_webhook_path(std::string path);
  void set_webhook_answer(std::string json_text);  // sent verbatim as application/json
  void set_failure(FakeRoute route, Failure failure);

  // Inspection.
  std::vector<RecordedRequest> requests(FakeRoute route) const;
  std::vector<RecordedRequest> all_requests() const;  // every route, in arrival order
  std::size_t request_count() const;
  std::size_t request_count(FakeRoute route) const;
  std::size_t connections_accepted() const;
  // Blocks until at least `n` requests for `route` were recorded, or the timeout passes;
  // returns whether they were.
  bool wait_for_requests(FakeRoute route, std::size_t n, std::chrono::milliseconds timeout) const;

  // Forgets the recorded requests and counters and restores the default configuration.
  // Connections already open stay open.
  void reset();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace voxgate::testing

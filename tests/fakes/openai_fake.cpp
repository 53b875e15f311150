// The OpenAI-compatible stand-in. Shaped like Beast's server examples: one Session per
// connection doing read -> answer -> read on the single io thread (so no strand is needed),
// and a pure step in the middle, plan_answer(), that turns a request and a snapshot of the
// configuration into a Plan (a plain answer, a chunked stream, a close, or silence) without
// touching a socket. Delays and stream pacing run on per-session steady_timers, so one slow
// answer never holds up another connection.
#include "openai_fake.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <cmath>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <numbers>
#include <thread>

namespace voxgate::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace json = boost::json;
using tcp = boost::asio::ip::tcp;
using namespace std::chrono_literals;

// OpenAI accepts uploads up to 25 MB; a little more leaves room for the multipart framing.
constexpr std::size_t kMaxBodyBytes = 32u << 20;
// The documented maximum length of /v1/audio/speech `input`.
constexpr std::size_t kMaxSpeechInputChars = 4096;
constexpr double kToneHz = 300.0;
constexpr double kToneAmplitude = 8000.0;
// Speech audio goes out in 100 ms chunks (4800 bytes), as a streaming TTS service would.
constexpr std::size_t kSpeechChunkBytes = OpenAiFake::kSpeechRateHz / 10 * 2;
// Tool-call arguments are streamed in fragments of about this many bytes, like model tokens.
constexpr std::size_t kArgumentFragmentBytes = 4;
// Odd on purpose: as audio/pcm it cannot be whole 16-bit samples.
constexpr std::string_view kNotAudio = "NOT AUDIO: the fake was told to send garbage.";
static_assert(kNotAudio.size() % 2 == 1);

constexpr std::size_t kRouteCount = 5;

std::size_t route_index(FakeRoute route) { return static_cast<std::size_t>(route); }

struct ToolCall {
  std::string name;
  std::string arguments_json;
};

struct Config {
  std::string transcript{OpenAiFake::kDefaultTranscript};
  std::string chat_reply{OpenAiFake::kDefaultChatReply};
  std::optional<ToolCall> tool_call;
  std::chrono::milliseconds chunk_delay{0};
  std::string api_key;
  std::string webhook_path{OpenAiFake::kDefaultWebhookPath};
  std::string webhook_answer{OpenAiFake::kDefaultWebhookAnswer};
  std::array<Failure, kRouteCount> failures{};
};

// What the session does with one request.
struct Plan {
  enum class Kind { kAnswer, kChunked, kClose, kHang };
  enum class End { kFinish, kDrop, kHang };  // after the last chunk
  Kind kind = Kind::kAnswer;
  std::chrono::milliseconds delay{0};
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;                 // kAnswer
  std::vector<std::string> chunks;  // kChunked: one chunk of the transfer encoding each
  std::chrono::milliseconds chunk_delay{0};
  End end = End::kFinish;
};

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool iequals(std::string_view a, std::string_view b) { return lowercase(a) == lowercase(b); }

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

// The OpenAI error object: {"error":{"message","type","param","code"}}.
std::string error_json(std::string_view message, std::string_view type = "invalid_request_error",
                       std::string_view param = {}, std::string_view code = {}) {
  json::object error{{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
  if (!param.empty()) error["param"] = param;
  if (!code.empty()) error["code"] = code;
  return json::serialize(json::object{{"error", std::move(error)}});
}

Plan error_plan(unsigned status, std::string_view message,
                std::string_view type = "invalid_request_error", std::string_view param = {},
                std::string_view code = {}) {
  Plan plan;
  plan.status = status;
  plan.body = error_json(message, type, param, code);
  return plan;
}

Plan invalid_request(std::string_view message, std::string_view param = {},
                     std::string_view code = {}) {
  return error_plan(400, message, "invalid_request_error", param, code);
}

Plan json_plan(std::string body) {
  Plan plan;
  plan.body = std::move(body);
  return plan;
}

// Cutting a JSON object short leaves its braces unbalanced: never valid JSON.
Plan malformed_json_plan(const std::string& valid) {
  return json_plan(valid.substr(0, valid.size() / 2));
}

// ---- multipart/form-data (RFC 7578, framing from RFC 2046 §5.1.1) ----

// Splits `a=b; c="d"` parameters; quoted values may hold `;` and backslash escapes.
std::vector<std::pair<std::string, std::string>> header_params(std::string_view value) {
  std::vector<std::pair<std::string, std::string>> params;
  std::size_t pos = value.find(';');
  while (pos != std::string_view::npos && pos < value.size()) {
    ++pos;
    while (pos < value.size() && (value[pos] == ' ' || value[pos] == '\t')) ++pos;
    const auto eq = value.find('=', pos);
    if (eq == std::string_view::npos) break;
    std::string name = lowercase(trim(value.substr(pos, eq - pos)));
    std::string param_value;
    pos = eq + 1;
    if (pos < value.size() && value[pos] == '"') {
      ++pos;
      while (pos < value.size() && value[pos] != '"') {
        if (value[pos] == '\\' && pos + 1 < value.size()) ++pos;
        param_value += value[pos++];
      }
      pos = value.find(';', pos);
    } else {
      const auto semi = value.find(';', pos);
      param_value = std::string(trim(value.substr(pos, semi - pos)));
      pos = semi;
    }
    params.emplace_back(std::move(name), std::move(param_value));
  }
  return params;
}

std::optional<std::string> find_param(std::string_view header_value, std::string_view name) {
  for (auto& [key, value] : header_params(header_value)) {
    if (key == name) return value;
  }
  return std::nullopt;
}

bool parse_part_headers(std::string_view headers, FormPart& part) {
  bool form_data = false;
  std::size_t pos = 0;
  while (pos < headers.size()) {
    auto eol = headers.find("\r\n", pos);
    if (eol == std::string_view::npos) eol = headers.size();
    const auto line = headers.substr(pos, eol - pos);
    pos = eol + 2;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return false;
    const auto name = lowercase(trim(line.substr(0, colon)));
    const auto value = trim(line.substr(colon + 1));
    if (name == "content-disposition") {
      if (!iequals(trim(value.substr(0, value.find(';'))), "form-data")) return false;
      form_data = true;
      for (auto& [key, param] : header_params(value)) {
        if (key == "name") part.name = param;
        if (key == "filename") part.filename = param;
      }
    } else if (name == "content-type") {
      part.content_type = std::string(value);
    }
  }
  return form_data && !part.name.empty();
}

// Binary-safe: only delimiter lines matter, so NUL bytes and stray "--" in file data are fine.
std::optional<std::vector<FormPart>> parse_multipart(std::string_view body,
                                                     std::string_view boundary) {
  const std::string delimiter = "--" + std::string(boundary);
  const std::string next_delimiter = "\r\n" + delimiter;
  std::size_t pos = 0;
  if (body.starts_with(delimiter)) {
    pos = delimiter.size();
  } else {
    // A preamble before the first delimiter is allowed and ignored.
    pos = body.find(next_delimiter);
    if (pos == std::string_view::npos) return std::nullopt;
    pos += next_delimiter.size();
  }
  std::vector<FormPart> parts;
  for (;;) {
    if (body.substr(pos).starts_with("--")) return parts;  // the close delimiter; epilogue ignored
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (!body.substr(pos).starts_with("\r\n")) return std::nullopt;
    pos += 2;
    FormPart part;
    std::size_t content_start = 0;
    if (body.substr(pos).starts_with("\r\n")) {
      content_start = pos + 2;  // no headers at all: rejected below for want of a name
    } else {
      const auto headers_end = body.find("\r\n\r\n", pos);
      if (headers_end == std::string_view::npos) return std::nullopt;
      if (!parse_part_headers(body.substr(pos, headers_end - pos), part)) return std::nullopt;
      content_start = headers_end + 4;
    }
    if (part.name.empty()) return std::nullopt;
    const auto content_end = body.find(next_delimiter, content_start);
    if (content_end == std::string_view::npos) return std::nullopt;
    part.data = std::string(body.substr(content_start, content_end - content_start));
    parts.push_back(std::move(part));
    pos = content_end + next_delimiter.size();
  }
}

// ---- WAV ----

std::uint32_t read_le(std::string_view data, std::size_t pos, int bytes) {
  std::uint32_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) {
    value = (value << 8) | static_cast<unsigned char>(data[pos + static_cast<std::size_t>(i)]);
  }
  return value;
}

// RIFF/WAVE: "RIFF" size "WAVE", then chunks (id, le32 size, data padded to even length);
// "fmt " must come before "data". A data size beyond the file (as streaming writers leave it,
// e.g. 0xFFFFFFFF) counts only the bytes present.
std::optional<WavFacts> parse_wav(std::string_view data) {
  if (data.size() < 12 || data.substr(0, 4) != "RIFF" || data.substr(8, 4) != "WAVE") {
    return std::nullopt;
  }
  WavFacts facts;
  std::uint32_t block_align = 0;
  std::uint64_t pos = 12;
  while (pos + 8 <= data.size()) {
    const auto id = data.substr(pos, 4);
    const std::uint64_t size = read_le(data, pos + 4, 4);
    pos += 8;
    if (id == "fmt ") {
      if (size < 16 || pos + size > data.size()) return std::nullopt;
      facts.format_tag = static_cast<std::uint16_t>(read_le(data, pos, 2));
      facts.channels = static_cast<std::uint16_t>(read_le(data, pos + 2, 2));
      facts.rate_hz = read_le(data, pos + 4, 4);
      block_align = read_le(data, pos + 12, 2);
      facts.bits_per_sample = static_cast<std::uint16_t>(read_le(data, pos + 14, 2));
      if (facts.channels == 0 || facts.rate_hz == 0 || facts.bits_per_sample == 0 ||
          block_align == 0) {
        return std::nullopt;
      }
    } else if (id == "data") {
      if (block_align == 0) return std::nullopt;
      facts.data_bytes = static_cast<std::size_t>(std::min<std::uint64_t>(size, data.size() - pos));
      facts.n_samples = facts.data_bytes / block_align;
      return facts;
    }
    pos += size + (size & 1);
  }
  return std::nullopt;
}

// ---- speech audio ----

std::size_t count_code_points(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string tone_pcm_le(std::size_t n_samples) {
  std::string out(n_samples * 2, '\0');
  for (std::size_t i = 0; i < n_samples; ++i) {
    const double t = static_cast<double>(i) / OpenAiFake::kSpeechRateHz;
    const auto sample = static_cast<std::int16_t>(
        std::lround(kToneAmplitude * std::sin(2 * std::numbers::pi * kToneHz * t)));
    const auto bits = static_cast<std::uint16_t>(sample);
    out[2 * i] = static_cast<char>(bits & 0xFF);
    out[2 * i + 1] = static_cast<char>(bits >> 8);
  }
  return out;
}

void append_le(std::string& out, std::uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((value >> (8 * i)) & 0xFF);
}

std::string wav_file(const std::string& pcm) {
  constexpr std::uint32_t kChannels = 1;
  constexpr std::uint32_t kBits = 16;
  const auto data_bytes = static_cast<std::uint32_t>(pcm.size());
  std::string out = "RIFF";
  append_le(out, 36 + data_bytes, 4);
  out += "WAVEfmt ";
  append_le(out, 16, 4);
  append_le(out, 1, 2);  // PCM
  append_le(out, kChannels, 2);
  append_le(out, OpenAiFake::kSpeechRateHz, 4);
  append_le(out, OpenAiFake::kSpeechRateHz * kChannels * kBits / 8, 4);
  append_le(out, kChannels * kBits / 8, 2);
  append_le(out, kBits, 2);
  out += "data";
  append_le(out, data_bytes, 4);
  return out + pcm;
}

// ---- chat ----

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Pieces of 1, 2, 3, 2, 1, ... words, each keeping the whitespace before it (as model tokens
// do: "Sure,", " for how", ...), so that concatenating them gives back the text exactly.
std::vector<std::string> split_reply(std::string_view text) {
  static constexpr std::array<int, 4> kWordsPerPiece{1, 2, 3, 2};
  std::vector<std::string> pieces;
  std::size_t pos = 0;
  std::size_t k = 0;
  while (pos < text.size()) {
    std::size_t end = pos;
    for (int w = 0; w < kWordsPerPiece[k % kWordsPerPiece.size()] && end < text.size(); ++w) {
      while (end < text.size() && is_space(text[end])) ++end;
      while (end < text.size() && !is_space(text[end])) ++end;
    }
    if (text.substr(end).find_first_not_of(" \t\r\n") == std::string_view::npos) end = text.size();
    pieces.emplace_back(text.substr(pos, end - pos));
    pos = end;
    ++k;
  }
  return pieces;
}

// Fragments that never split a UTF-8 sequence, so each is a valid JSON string on its own.
std::vector<std::string> split_arguments(std::string_view arguments) {
  std::vector<std::string> fragments;
  std::size_t pos = 0;
  while (pos < arguments.size()) {
    std::size_t end = std::min(pos + kArgumentFragmentBytes, arguments.size());
    while (end < arguments.size() && (static_cast<unsigned char>(arguments[end]) & 0xC0) == 0x80) {
      ++end;
    }
    fragments.emplace_back(arguments.substr(pos, end - pos));
    pos = end;
  }
  return fragments;
}

std::size_t count_words(std::string_view text) {
  std::size_t words = 0;
  bool in_word = false;
  for (char c : text) {
    if (is_space(c)) {
      in_word = false;
    } else if (!in_word) {
      in_word = true;
      ++words;
    }
  }
  return words;
}

std::string sse_event(const json::value& value) {
  return "data: " + json::serialize(value) + "\n\n";
}

// Checks what the API reference marks required; returns an error message or "".
std::string validate_chat(const json::object& body) {
  const auto* model = body.if_contains("model");
  if (model == nullptr || !model->is_string() || model->as_string().empty()) {
    return "you must provide a model parameter";
  }
  const auto* messages = body.if_contains("messages");
  if (messages == nullptr || !messages->is_array() || messages->as_array().empty()) {
    return "'messages' must be a non-empty array";
  }
  static constexpr std::array<std::string_view, 5> kRoles{"system", "developer", "user",
                                                          "assistant", "tool"};
  for (const auto& message : messages->as_array()) {
    if (!message.is_object()) return "each message must be an object";
    const auto* role = message.as_object().if_contains("role");
    if (role == nullptr || !role->is_string() ||
        std::find(kRoles.begin(), kRoles.end(), std::string_view(role->as_string())) ==
            kRoles.end()) {
      return "each message needs a role: system, developer, user, assistant or tool";
    }
    const auto* content = message.as_object().if_contains("content");
    const bool assistant = role->as_string() == "assistant";
    const bool content_ok = (content != nullptr && (content->is_string() || content->is_array())) ||
                            (assistant && (content == nullptr || content->is_null()));
    if (!content_ok) return "each message needs a content string or array";
    if (role->as_string() == "tool" && !message.as_object().contains("tool_call_id")) {
      return "a tool message needs a tool_call_id";
    }
  }
  if (const auto* tools = body.if_contains("tools")) {
    if (!tools->is_array()) return "'tools' must be an array";
    for (const auto& tool : tools->as_array()) {
      const auto* function = tool.is_object() ? tool.as_object().if_contains("function") : nullptr;
      if (function == nullptr || !function->is_object() ||
          !function->as_object().contains("name")) {
        return "each tool needs type \"function\" and a function.name";
      }
    }
  }
  if (const auto* stream = body.if_contains("stream"); stream && !stream->is_bool()) {
    return "'stream' must be a boolean";
  }
  return {};
}

// What a Session hands each request to: the fake's state, which records it and plans.
class RequestHandler {
 public:
  virtual Plan on_request(const http::request<http::string_body>& request) = 0;

 protected:
  ~RequestHandler() = default;
};

// ---- routes ----

struct RouteContext {
  const http::request<http::string_body>& request;
  const Config& config;
  const Failure& failure;
  std::uint64_t sequence;
  RecordedRequest& record;
};

Plan transcriptions(RouteContext& ctx) {
  const auto content_type = std::string_view(ctx.request[http::field::content_type]);
  const auto boundary = find_param(content_type, "boundary");
  if (!iequals(trim(content_type.substr(0, content_type.find(';'))), "multipart/form-data") ||
      !boundary || boundary->empty() || boundary->size() > 70) {
    return invalid_request(
        "Invalid Content-Type header: expected multipart/form-data with a boundary");
  }
  auto parts = parse_multipart(ctx.request.body(), *boundary);
  if (!parts) return invalid_request("Could not parse multipart form");
  ctx.record.form_parts = std::move(*parts);
  const FormPart* file = ctx.record.form_part("file");
  const FormPart* model = ctx.record.form_part("model");
  const FormPart* format = ctx.record.form_part("response_format");
  if (file == nullptr || !file->filename) {
    return invalid_request("'file' is a required property (a form part with a filename)", "file");
  }
  if (model == nullptr || model->data.empty()) {
    return invalid_request("you must provide a model parameter", "model");
  }
  ctx.record.wav = parse_wav(file->data);
  if (!ctx.record.wav) {
    return invalid_request("Invalid file format: not a RIFF/WAVE file with fmt and data chunks",
                           "file", "invalid_value");
  }
  const std::string response_format = format ? format->data : "json";
  const auto& wav = *ctx.record.wav;
  std::string body;
  Plan plan;
  if (response_format == "json") {
    body = json::serialize(json::object{{"text", ctx.config.transcript}});
  } else if (response_format == "verbose_json") {
    const FormPart* language = ctx.record.form_part("language");
    body = json::serialize(
        json::object{{"task", "transcribe"},
                     {"language", language ? language->data : std::string("english")},
                     {"duration", static_cast<double>(wav.n_samples) / wav.rate_hz},
                     {"text", ctx.config.transcript}});
  } else if (response_format == "text") {
    if (ctx.failure.mode == FailureMode::kMalformed) return json_plan("{\"text\": \"trunc");
    plan.content_type = "text/plain; charset=utf-8";
    plan.body = ctx.config.transcript + "\n";
    return plan;
  } else {
    return invalid_request("response_format must be json, text or verbose_json in this fake",
                           "response_format");
  }
  if (ctx.failure.mode == FailureMode::kMalformed) return malformed_json_plan(body);
  return json_plan(std::move(body));
}

Plan chat_completions(RouteContext& ctx) {
  if (!ctx.record.json || !ctx.record.json->is_object()) {
    return invalid_request("We could not parse the JSON body of your request.");
  }
  const auto& body = ctx.record.json->as_object();
  if (auto message = validate_chat(body); !message.empty()) return invalid_request(message);

  const std::string id = "chatcmpl-fake" + std::to_string(ctx.sequence);
  const std::int64_t created = std::time(nullptr);
  const json::string model = body.at("model").as_string();
  const auto& tool_call = ctx.config.tool_call;
  const std::string tool_call_id = "call_fake" + std::to_string(ctx.sequence);
  const std::string_view finish_reason = tool_call ? "tool_calls" : "stop";
  const auto reply_pieces = split_reply(ctx.config.chat_reply);

  std::size_t prompt_words = 0;
  for (const auto& message : body.at("messages").as_array()) {
    if (const auto* content = message.as_object().if_contains("content");
        content && content->is_string()) {
      prompt_words += count_words(content->as_string());
    }
  }
  const std::size_t completion_tokens =
      reply_pieces.size() + (tool_call ? split_arguments(tool_call->arguments_json).size() : 0);
  const json::object usage{{"prompt_tokens", prompt_words},
                           {"completion_tokens", completion_tokens},
                           {"total_tokens", prompt_words + completion_tokens}};

  const auto* stream = body.if_contains("stream");
  if (stream == nullptr || !stream->as_bool()) {
    if (ctx.failure.mode == FailureMode::kStall) return Plan{.kind = Plan::Kind::kHang};
    json::object message{{"role", "assistant"}, {"refusal", nullptr}};
    if (ctx.config.chat_reply.empty() && tool_call) {
      message["content"] = nullptr;
    } else {
      message["content"] = ctx.config.chat_reply;
    }
    if (tool_call) {
      message["tool_calls"] = json::array{json::object{
          {"id", tool_call_id},
          {"type", "function"},
          {"function",
           json::object{{"name", tool_call->name}, {"arguments", tool_call->arguments_json}}}}};
    }
    const auto answer = json::serialize(
        json::object{{"id", id},
                     {"object", "chat.completion"},
                     {"created", created},
                     {"model", model},
                     {"system_fingerprint", "fp_fake"},
                     {"choices", json::array{json::object{{"index", 0},
                                                          {"message", std::move(message)},
                                                          {"logprobs", nullptr},
                                                          {"finish_reason", finish_reason}}}},
                     {"usage", usage}});
    if (ctx.failure.mode == FailureMode::kMalformed) return malformed_json_plan(answer);
    return json_plan(answer);
  }

  // With stream_options.include_usage the API adds "usage": null to every chunk and a last
  // chunk with empty choices that carries the usage.
  bool include_usage = false;
  if (const auto* options = body.if_contains("stream_options"); options && options->is_object()) {
    if (const auto* flag = options->as_object().if_contains("include_usage")) {
      include_usage = flag->is_bool() && flag->as_bool();
    }
  }
  auto chunk = [&](json::object delta, std::string_view finish = {}) {
    json::object choice{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}};
    choice["finish_reason"] = finish.empty() ? json::value(nullptr) : json::value(finish);
    json::object object{{"id", id},
                        {"object", "chat.completion.chunk"},
                        {"created", created},
                        {"model", model},
                        {"system_fingerprint", "fp_fake"},
                        {"choices", json::array{std::move(choice)}}};
    if (include_usage) object["usage"] = nullptr;
    return sse_event(object);
  };

  Plan plan;
  plan.kind = Plan::Kind::kChunked;
  plan.content_type = "text/event-stream; charset=utf-8";
  plan.chunk_delay = ctx.config.chunk_delay;
  plan.chunks.push_back(chunk(json::object{{"role", "assistant"}, {"content", ""}}));
  if (ctx.failure.mode == FailureMode::kMalformed) {
    plan.chunks.push_back("data: {\"id\":\"" + id +
                          "\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
                          "\"delta\":{\"content\":\"Hel\n\n");
    plan.end = Plan::End::kDrop;
    return plan;
  }
  for (const auto& piece : reply_pieces) {
    if (ctx.failure.mode == FailureMode::kStall &&
        plan.chunks.size() > ctx.failure.stall_after_chunks) {
      break;
    }
    plan.chunks.push_back(chunk(json::object{{"content", piece}}));
  }
  if (ctx.failure.mode == FailureMode::kStall) {
    plan.end = Plan::End::kHang;
    return plan;
  }
  if (tool_call) {
    plan.chunks.push_back(chunk(json::object{
        {"tool_calls", json::array{json::object{{"index", 0},
                                                {"id", tool_call_id},
                                                {"type", "function"},
                                                {"function", json::object{{"name", tool_call->name},
                                                                          {"arguments", ""}}}}}}}));
    for (const auto& fragment : split_arguments(tool_call->arguments_json)) {
      plan.chunks.push_back(chunk(
          json::object{{"tool_calls",
                        json::array{json::object{
                            {"index", 0}, {"function", json::object{{"arguments", fragment}}}}}}}));
    }
  }
  plan.chunks.push_back(chunk(json::object{}, finish_reason));
  if (include_usage) {
    plan.chunks.push_back(sse_event(json::object{{"id", id},
                                                 {"object", "chat.completion.chunk"},
                                                 {"created", created},
                                                 {"model", model},
                                                 {"system_fingerprint", "fp_fake"},
                                                 {"choices", json::array{}},
                                                 {"usage", usage}}));
  }
  plan.chunks.push_back("data: [DONE]\n\n");
  return plan;
}

Plan speech(RouteContext& ctx) {
  if (!ctx.record.json || !ctx.record.json->is_object()) {
    return invalid_request("We could not parse the JSON body of your request.");
  }
  const auto& body = ctx.record.json->as_object();
  const auto* model = body.if_contains("model");
  const auto* input = body.if_contains("input");
  const auto* voice = body.if_contains("voice");
  const auto* format = body.if_contains("response_format");
  if (model == nullptr || !model->is_string() || model->as_string().empty()) {
    return invalid_request("you must provide a model parameter", "model");
  }
  if (input == nullptr || !input->is_string() || input->as_string().empty()) {
    return invalid_request("'input' must be a non-empty string", "input");
  }
  const std::string_view text = input->as_string();
  if (count_code_points(text) > kMaxSpeechInputChars) {
    return invalid_request("'input' is longer than 4096 characters", "input");
  }
  if (voice == nullptr || !voice->is_string() || voice->as_string().empty()) {
    return invalid_request("'voice' is a required property", "voice");
  }
  // The API's default format is mp3, which this fake cannot make: asking for it is an error
  // here, so a backend that forgets response_format is caught.
  const std::string_view format_name =
      format != nullptr && format->is_string() ? std::string_view(format->as_string()) : "mp3";
  if (format_name != "pcm" && format_name != "wav") {
    return invalid_request("response_format must be pcm or wav in this fake", "response_format");
  }
  Plan plan;
  plan.kind = Plan::Kind::kChunked;
  plan.content_type = format_name == "pcm" ? "audio/pcm" : "audio/wav";
  if (ctx.failure.mode == FailureMode::kMalformed) {
    plan.chunks.emplace_back(kNotAudio);
    return plan;
  }
  std::string audio = tone_pcm_le(count_code_points(text) * OpenAiFake::kSpeechSamplesPerChar);
  if (format_name == "wav") audio = wav_file(audio);
  for (std::size_t pos = 0; pos < audio.size(); pos += kSpeechChunkBytes) {
    plan.chunks.push_back(audio.substr(pos, kSpeechChunkBytes));
  }
  return plan;
}

Plan webhook(RouteContext& ctx) {
  if (!ctx.record.json) return invalid_request("the webhook expects a JSON body");
  if (ctx.failure.mode == FailureMode::kMalformed) {
    return malformed_json_plan(ctx.config.webhook_answer);
  }
  return json_plan(ctx.config.webhook_answer);
}

std::optional<Plan> check_api_key(const http::request<http::string_body>& request,
                                  const Config& config) {
  if (config.api_key.empty()) return std::nullopt;
  const auto authorization = std::string_view(request[http::field::authorization]);
  if (authorization.empty()) {
    return error_plan(401,
                      "You didn't provide an API key. You need to provide your API key in an "
                      "Authorization header using Bearer auth (i.e. Authorization: Bearer "
                      "YOUR_KEY).");
  }
  if (authorization != "Bearer " + config.api_key) {
    return error_plan(401, "Incorrect API key provided.", "invalid_request_error", {},
                      "invalid_api_key");
  }
  return std::nullopt;
}

// The pure step: from a request and a configuration snapshot to what to send. Also fills the
// parsed parts of `record`.
Plan plan_answer(const http::request<http::string_body>& request, const Config& config,
                 std::uint64_t sequence, RecordedRequest& record) {
  const Failure& failure = config.failures[route_index(record.route)];
  boost::system::error_code ec;
  auto parsed = json::parse(request.body(), ec);
  if (!ec) record.json = std::move(parsed);

  Plan plan;
  if (failure.mode == FailureMode::kCloseWithoutAnswer) {
    plan.kind = Plan::Kind::kClose;
  } else if (failure.mode == FailureMode::kServerError) {
    plan =
        error_plan(500, "The server had an error while processing your request. Sorry about that!",
                   "server_error");
  } else if (record.route == FakeRoute::kUnknown) {
    plan = error_plan(
        404, "Invalid URL (" + std::string(request.method_string()) + " " + record.path + ")");
  } else if (request.method() != http::verb::post) {
    plan = error_plan(405, "Method not allowed: use POST");
  } else if (auto refusal = record.route == FakeRoute::kWebhook ? std::nullopt
                                                                : check_api_key(request, config)) {
    plan = std::move(*refusal);
  } else {
    RouteContext ctx{request, config, failure, sequence, record};
    switch (record.route) {
      case FakeRoute::kTranscriptions:
        plan = transcriptions(ctx);
        break;
      case FakeRoute::kChatCompletions:
        plan = chat_completions(ctx);
        break;
      case FakeRoute::kSpeech:
        plan = speech(ctx);
        break;
      case FakeRoute::kWebhook:
        plan = webhook(ctx);
        break;
      case FakeRoute::kUnknown:
        break;
    }
  }
  // A stalled streaming chat already says how it stalls; anything else stalls by silence.
  if (failure.mode == FailureMode::kStall && plan.kind != Plan::Kind::kChunked) {
    plan = Plan{.kind = Plan::Kind::kHang};
  }
  if (failure.mode == FailureMode::kStall && plan.kind == Plan::Kind::kChunked &&
      record.route != FakeRoute::kChatCompletions) {
    plan = Plan{.kind = Plan::Kind::kHang};
  }
  plan.delay = failure.delay;
  record.status =
      plan.kind == Plan::Kind::kClose || plan.kind == Plan::Kind::kHang ? 0 : plan.status;
  return plan;
}

}  // namespace

std::string RecordedRequest::header(std::string_view name) const {
  const auto wanted = lowercase(name);
  for (const auto& [key, value] : headers) {
    if (key == wanted) return value;
  }
  return {};
}

const FormPart* RecordedRequest::form_part(std::string_view name) const {
  for (const auto& part : form_parts) {
    if (part.name == name) return &part;
  }
  return nullptr;
}

class OpenAiFake::Impl final : public RequestHandler {
 public:
  Impl() : acceptor_(io_) {
    const tcp::endpoint endpoint(asio::ip::make_address_v4("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    do_accept();
    thread_ = std::thread([this] { io_.run(); });
  }

  // Pending handlers (and the sessions they own) are destroyed with io_, before the state
  // they point to: members go in reverse order of declaration.
  ~Impl() {
    io_.stop();
    thread_.join();
  }

  // Called on the io thread once a request has been read: records it and plans the answer.
  Plan on_request(const http::request<http::string_body>& request) override {
    RecordedRequest record;
    record.method = std::string(request.method_string());
    record.target = std::string(request.target());
    record.path = record.target.substr(0, record.target.find('?'));
    for (const auto& field : request) {
      record.headers.emplace_back(lowercase(field.name_string()), std::string(field.value()));
    }
    record.body = request.body();

    Config config;
    std::uint64_t sequence = 0;
    {
      std::lock_guard lock(mutex_);
      config = config_;
      sequence = ++sequence_;
    }
    if (record.path == "/v1/audio/transcriptions") {
      record.route = FakeRoute::kTranscriptions;
    } else if (record.path == "/v1/chat/completions") {
      record.route = FakeRoute::kChatCompletions;
    } else if (record.path == "/v1/audio/speech") {
      record.route = FakeRoute::kSpeech;
    } else if (record.path == config.webhook_path) {
      record.route = FakeRoute::kWebhook;
    }
    Plan plan = plan_answer(request, config, sequence, record);
    {
      std::lock_guard lock(mutex_);
      records_.push_back(std::move(record));
    }
    recorded_.notify_all();
    return plan;
  }

  void on_connection() {
    std::lock_guard lock(mutex_);
    ++connections_;
  }

  unsigned short port_ = 0;
  mutable std::mutex mutex_;
  mutable std::condition_variable recorded_;
  Config config_;
  std::vector<RecordedRequest> records_;
  std::uint64_t sequence_ = 0;
  std::size_t connections_ = 0;

 private:
  void do_accept();

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, RequestHandler& owner)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), owner_(owner) {}

  void start() { do_read_header(); }

 private:
  void do_read_header() {
    parser_.emplace();
    parser_->body_limit(kMaxBodyBytes);
    http::async_read_header(socket_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_read_header(ec);
                            });
  }

  // libcurl sends `Expect: 100-continue` before larger bodies and waits up to a second for
  // the interim answer; a server that ignores it makes every upload slow.
  void on_read_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    if (iequals(std::string_view(parser_->get()[http::field::expect]), "100-continue")) {
      continue_ = http::response<http::empty_body>{http::status::continue_, 11};
      http::async_write(socket_, continue_,
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          if (ec) return self->close();
                          self->do_read_body();
                        });
      return;
    }
    do_read_body();
  }

  void do_read_body() {
    http::async_read(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == asio::error::eof || ec == asio::error::connection_reset) {
      return close();
    }
    // A request we cannot parse: say so once, then hang up, as servers do.
    keep_alive_ = false;
    plan_ = Plan{};
    plan_.status = 400;
    plan_.body = error_json("Malformed HTTP request: " + ec.message());
    write_answer();
  }

  void on_read(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    request_ = parser_->release();
    keep_alive_ = request_.keep_alive();
    plan_ = owner_.on_request(request_);
    if (plan_.delay > 0ms) {
      timer_.expires_after(plan_.delay);
      timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (!ec) self->act();
      });
      return;
    }
    act();
  }

  void act() {
    switch (plan_.kind) {
      case Plan::Kind::kAnswer:
        return write_answer();
      case Plan::Kind::kChunked:
        return write_chunked_header();
      case Plan::Kind::kClose:
        return close();
      case Plan::Kind::kHang:
        return wait_for_client_close();
    }
  }

  template <class Response>
  void set_common_fields(Response& response) {
    response.set(http::field::server, "voxgate-openai-fake");
    response.set(http::field::content_type, plan_.content_type);
    response.set("x-request-id", "req_fake");
    response.keep_alive(keep_alive_);
  }

  void write_answer() {
    response_ = http::response<http::string_body>{static_cast<http::status>(plan_.status), 11};
    set_common_fields(response_);
    response_.body() = std::move(plan_.body);
    response_.prepare_payload();
    http::async_write(
        socket_, response_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_answered(ec); });
  }

  void on_answered(beast::error_code ec) {
    if (ec || !keep_alive_) return close();
    do_read_header();
  }

  void write_chunked_header() {
    chunked_head_ = http::response<http::empty_body>{static_cast<http::status>(plan_.status), 11};
    set_common_fields(chunked_head_);
    chunked_head_.set(http::field::cache_control, "no-cache");
    chunked_head_.chunked(true);
    serializer_.emplace(chunked_head_);
    next_chunk_ = 0;
    http::async_write_header(socket_, *serializer_,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               if (ec) return self->close();
                               self->write_chunk();
                             });
  }

  void write_chunk() {
    if (next_chunk_ == plan_.chunks.size()) return end_chunked();
    asio::async_write(socket_, http::make_chunk(asio::buffer(plan_.chunks[next_chunk_])),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        self->on_chunk_written(ec);
                      });
  }

  void on_chunk_written(beast::error_code ec) {
    if (ec) return close();
    ++next_chunk_;
    if (next_chunk_ < plan_.chunks.size() && plan_.chunk_delay > 0ms) {
      timer_.expires_after(plan_.chunk_delay);
      timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (!ec) self->write_chunk();
      });
      return;
    }
    write_chunk();
  }

  void end_chunked() {
    switch (plan_.end) {
      case Plan::End::kFinish:
        asio::async_write(socket_, http::make_chunk_last(),
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            self->on_answered(ec);
                          });
        return;
      case Plan::End::kDrop:
        return close();
      case Plan::End::kHang:
        return wait_for_client_close();
    }
  }

  // Keeps the session (and its socket) alive without answering, until the client gives up.
  void wait_for_client_close() {
    socket_.async_read_some(asio::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->close();
                              self->wait_for_client_close();
                            });
  }

  void close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  RequestHandler& owner_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> request_;
  bool keep_alive_ = true;
  Plan plan_;
  http::response<http::empty_body> continue_;
  http::response<http::string_body> response_;
  http::response<http::empty_body> chunked_head_;
  std::optional<http::response_serializer<http::empty_body>> serializer_;
  std::size_t next_chunk_ = 0;
  std::array<char, 512> scratch_{};
};

}  // namespace

void OpenAiFake::Impl::do_accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      on_connection();
      std::make_shared<Session>(std::move(socket), *this)->start();
    }
    do_accept();
  });
}

OpenAiFake::OpenAiFake() : impl_(std::make_unique<Impl>()) {}
OpenAiFake::~OpenAiFake() = default;

unsigned short OpenAiFake::port() const { return impl_->port_; }

std::string OpenAiFake::base_url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port_);
}

std::string OpenAiFake::webhook_url() const {
  std::lock_guard lock(impl_->mutex_);
  return base_url() + impl_->config_.webhook_path;
}

void OpenAiFake::set_transcript(std::string text) {
  std::lock_guard lock(impl_->mutex_);
  impl_->config_.transcript = std::move(text);
}

void OpenAiFake::set_chat_reply(std::string text) {
  std::lock_guard lock(impl_->mutex_);
  impl_->config_.chat_reply = std::move(text);
}

void OpenAiFake::set_tool_call(std::string name, std::string arguments_json) {
  std::lock_guard lock(impl_->mutex_);
  impl_->config_.tool_call = ToolCall{std::move(name), std::move(arguments_json)};
}

void OpenAiFake::clear_tool_call() {
  std::lock_guard lock(impl_->mutex_);
  impl_->config_.tool_call.reset();
}

void OpenAiFake::set_stream_chunk_delay(std::chrono::milliseconds delay) {
  std::lock_guard lock(impl_->mutex_);
  impl_->config_.chunk_delay = delay;
}

void OpenAiFake::require_api_key(std::string key) {
  std::lock_guard lock(impl_->mutex_);
  impl_->config_.api_key = std::move(key);
}

void OpenAiFake::set_webhook_path(std::string path) {
  std::lock_guard lock(impl_->mutex_);
  impl_->config_.webhook_path = std::move(path);
}

void OpenAiFake::set_webhook_answer(std::string json_text) {
  std::lock_guard lock(impl_->mutex_);
  impl_->config_.webhook_answer = std::move(json_text);
}

void OpenAiFake::set_failure(FakeRoute route, Failure failure) {
  std::lock_guard lock(impl_->mutex_);
  impl_->config_.failures[route_index(route)] = failure;
}

std::vector<RecordedRequest> OpenAiFake::requests(FakeRoute route) const {
  std::lock_guard lock(impl_->mutex_);
  std::vector<RecordedRequest> out;
  std::copy_if(impl_->records_.begin(), impl_->records_.end(), std::back_inserter(out),
               [route](const RecordedRequest& record) { return record.route == route; });
  return out;
}

std::vector<RecordedRequest> OpenAiFake::all_requests() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->records_;
}

std::size_t OpenAiFake::request_count() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->records_.size();
}

std::size_t OpenAiFake::request_count(FakeRoute route) const {
  std::lock_guard lock(impl_->mutex_);
  return static_cast<std::size_t>(
      std::count_if(impl_->records_.begin(), impl_->records_.end(),
                    [route](const RecordedRequest& record) { return record.route == route; }));
}

std::size_t OpenAiFake::connections_accepted() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->connections_;
}

bool OpenAiFake::wait_for_requests(FakeRoute route, std::size_t n,
                                   std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex_);
  return impl_->recorded_.wait_for(lock, timeout, [&] {
    return static_cast<std::size_t>(std::count_if(
               impl_->records_.begin(), impl_->records_.end(),
               [route](const RecordedRequest& record) { return record.route == route; })) >= n;
  });
}

void OpenAiFake::reset() {
  std::lock_guard lock(impl_->mutex_);
  impl_->config_ = Config{};
  impl_->records_.clear();
  impl_->connections_ = 0;
}

}  // namespace voxgate::testing

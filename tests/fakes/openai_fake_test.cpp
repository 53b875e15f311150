// Tests of the OpenAI-compatible stand-in with plain libcurl easy handles as the client, over
// loopback. They check each route's wire format against the documented one (not against the
// fake's code: the WAV, multipart and SSE handling here is written independently), every
// failure mode, the API key check, and keep-alive.
#include "openai_fake.hpp"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace voxgate::testing {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::string_view kBoundary = "----voxgateTestBoundary7MA4YWxk";

struct Reply {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lowercased, of the final answer
  std::vector<std::pair<Clock::duration, std::string>> pieces;  // body data as it arrived
  long connects = 0;                                            // new connections opened

  std::string header(const std::string& name) const {
    const auto found = headers.find(name);
    return found == headers.end() ? std::string() : found->second;
  }
};

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

struct Capture {
  Reply* reply;
  Clock::time_point start;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* capture = static_cast<Capture*>(user);
  capture->reply->body.append(data, size * n);
  capture->reply->pieces.emplace_back(Clock::now() - capture->start, std::string(data, size * n));
  return size * n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* reply = static_cast<Capture*>(user)->reply;
  std::string line(data, size * n);
  // A status line starts a new header block (after `100 Continue`, the real answer's).
  if (line.starts_with("HTTP/")) reply->headers.clear();
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    auto value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of("\r\n ") + 1);
    reply->headers[lowercase(line.substr(0, colon))] = value;
  }
  return size * n;
}

// One HTTP client connection (a curl easy handle keeps its connection between requests).
class Client {
 public:
  Client() : easy_(curl_easy_init()) {}
  ~Client() { curl_easy_cleanup(easy_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Reply post(const std::string& url, const std::string& body,
             std::vector<std::string> headers = {"Content-Type: application/json"},
             std::chrono::milliseconds timeout = 5s) {
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body.data());
    return perform(url, headers, timeout);
  }

  Reply post_mime(const std::string& url, curl_mime* mime, std::vector<std::string> headers = {}) {
    curl_easy_setopt(easy_, CURLOPT_MIMEPOST, mime);
    auto reply = perform(url, headers, 5s);
    curl_easy_setopt(easy_, CURLOPT_MIMEPOST, nullptr);
    return reply;
  }

  Reply get(const std::string& url) {
    curl_easy_setopt(easy_, CURLOPT_HTTPGET, 1L);
    return perform(url, {}, 5s);
  }

  CURL* easy() { return easy_; }

 private:
  Reply perform(const std::string& url, const std::vector<std::string>& headers,
                std::chrono::milliseconds timeout) {
    Reply reply;
    Capture capture{&reply, Clock::now()};
    curl_slist* list = nullptr;
    for (const auto& header : headers) list = curl_slist_append(list, header.c_str());
    curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, &capture);
    curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy_, CURLOPT_HEADERDATA, &capture);
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    reply.code = curl_easy_perform(easy_);
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &reply.status);
    curl_easy_getinfo(easy_, CURLINFO_NUM_CONNECTS, &reply.connects);
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, nullptr);
    curl_slist_free_all(list);
    return reply;
  }

  CURL* easy_;
};

void put_le(std::string& out, std::uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((value >> (8 * i)) & 0xFF);
}

std::uint32_t get_le(const std::string& data, std::size_t pos, int bytes) {
  std::uint32_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) {
    value = (value << 8) | static_cast<unsigned char>(data[pos + static_cast<std::size_t>(i)]);
  }
  return value;
}

// A PCM WAV whose samples start with silence, so the body holds runs of NUL bytes; a
// `LIST` chunk before `data` checks that the fake walks chunks instead of assuming 44 bytes.
std::string make_wav(std::uint32_t rate_hz, std::uint16_t channels, std::size_t n_samples) {
  std::string data;
  for (std::size_t i = 0; i < n_samples * channels; ++i) {
    const auto sample = i < 100 ? std::int16_t{0} : static_cast<std::int16_t>((i * 37) % 2000);
    put_le(data, static_cast<std::uint16_t>(sample), 2);
  }
  const std::string list("LIST\x04\x00\x00\x00INFO", 12);
  std::string out = "RIFF";
  put_le(out, static_cast<std::uint32_t>(4 + 24 + list.size() + 8 + data.size()), 4);
  out += "WAVEfmt ";
  put_le(out, 16, 4);
  put_le(out, 1, 2);
  put_le(out, channels, 2);
  put_le(out, rate_hz, 4);
  put_le(out, rate_hz * channels * 2, 4);
  put_le(out, channels * 2u, 2);
  put_le(out, 16, 2);
  out += list;
  out += "data";
  put_le(out, static_cast<std::uint32_t>(data.size()), 4);
  return out + data;
}

struct Part {
  std::string name;
  std::string data;
  std::string filename;  // empty: a plain field
  std::string content_type;
};

std::string multipart(const std::vector<Part>& parts) {
  std::string body;
  for (const auto& part : parts) {
    body += "--" + std::string(kBoundary) + "\r\n";
    body += "Content-Disposition: form-data; name=\"" + part.name + "\"";
    if (!part.filename.empty()) body += "; filename=\"" + part.filename + "\"";
    body += "\r\n";
    if (!part.content_type.empty()) body += "Content-Type: " + part.content_type + "\r\n";
    body += "\r\n" + part.data + "\r\n";
  }
  return body + "--" + std::string(kBoundary) + "--\r\n";
}

std::vector<std::string> multipart_headers() {
  return {"Content-Type: multipart/form-data; boundary=" + std::string(kBoundary)};
}

// Server-sent events as the spec frames them: lines, an event ending at a blank line, the
// payload on `data:` lines.
std::vector<std::string> sse_data(const std::string& stream) {
  std::vector<std::string> events;
  std::size_t pos = 0;
  for (;;) {
    const auto end = stream.find("\n\n", pos);
    if (end == std::string::npos) break;
    const auto event = stream.substr(pos, end - pos);
    EXPECT_TRUE(event.starts_with("data: ")) << event;
    events.push_back(event.substr(6));
    pos = end + 2;
  }
  EXPECT_EQ(pos, stream.size()) << "trailing bytes after the last event";
  return events;
}

json::value parse_json(const std::string& text) {
  boost::system::error_code ec;
  auto value = json::parse(text, ec);
  EXPECT_FALSE(ec) << "not JSON: " << text;
  return value;
}

bool is_json(const std::string& text) {
  boost::system::error_code ec;
  json::parse(text, ec);
  return !ec;
}

void expect_openai_error(const Reply& reply, long status, std::string_view type) {
  EXPECT_EQ(reply.code, CURLE_OK);
  EXPECT_EQ(reply.status, status);
  EXPECT_TRUE(reply.header("content-type").starts_with("application/json"));
  const auto body = parse_json(reply.body);
  ASSERT_TRUE(body.is_object()) << reply.body;
  const auto& error = body.at("error").as_object();
  EXPECT_FALSE(error.at("message").as_string().empty());
  EXPECT_EQ(error.at("type").as_string(), type);
}

std::string chat_body(bool stream, std::string extra = {}) {
  return std::string(R"({"model":"gpt-4o-mini","messages":[)") +
         R"({"role":"system","content":"You answer phone calls."},)" +
         R"({"role":"user","content":"I want to book a table."}],)" +
         R"("tools":[{"type":"function","function":{"name":"end_call","parameters":)" +
         R"({"type":"object","properties":{"reason":{"type":"string"}}}}}],)" + extra +
         R"("stream":)" + (stream ? "true" : "false") + "}";
}

// Everything a streamed chat completion says, put back together.
struct Streamed {
  std::vector<json::object> chunks;
  bool done = false;
  std::string role;
  std::string content;
  std::vector<std::string> content_pieces;
  std::string tool_id, tool_type, tool_name, tool_arguments;
  std::size_t tool_chunks = 0;
  std::string finish_reason;
};

Streamed reassemble(const std::string& stream) {
  Streamed out;
  for (const auto& data : sse_data(stream)) {
    EXPECT_FALSE(out.done) << "event after [DONE]";
    if (data == "[DONE]") {
      out.done = true;
      continue;
    }
    auto chunk = parse_json(data).as_object();
    EXPECT_EQ(chunk.at("object").as_string(), "chat.completion.chunk");
    EXPECT_TRUE(chunk.at("id").as_string().starts_with("chatcmpl-"));
    EXPECT_EQ(chunk.at("model").as_string(), "gpt-4o-mini");
    for (const auto& choice_value : chunk.at("choices").as_array()) {
      const auto& choice = choice_value.as_object();
      const auto& delta = choice.at("delta").as_object();
      if (const auto* role = delta.if_contains("role")) out.role = role->as_string();
      if (const auto* content = delta.if_contains("content");
          content && content->is_string() && !content->as_string().empty()) {
        out.content += content->as_string();
        out.content_pieces.emplace_back(content->as_string());
      }
      if (const auto* calls = delta.if_contains("tool_calls")) {
        ++out.tool_chunks;
        const auto& call = calls->as_array().at(0).as_object();
        EXPECT_EQ(call.at("index").as_int64(), 0);
        if (const auto* id = call.if_contains("id")) out.tool_id = id->as_string();
        if (const auto* type = call.if_contains("type")) out.tool_type = type->as_string();
        const auto& function = call.at("function").as_object();
        if (const auto* name = function.if_contains("name")) out.tool_name = name->as_string();
        if (const auto* arguments = function.if_contains("arguments")) {
          out.tool_arguments += arguments->as_string();
        }
      }
      if (!choice.at("finish_reason").is_null()) {
        out.finish_reason = choice.at("finish_reason").as_string();
      }
    }
    out.chunks.push_back(std::move(chunk));
  }
  return out;
}

std::size_t count_words(const std::string& text) {
  std::size_t words = 0;
  bool in_word = false;
  for (char c : text) {
    const bool space = c == ' ';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

class OpenAiFakeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  static void TearDownTestSuite() { curl_global_cleanup(); }

  std::string url(std::string_view path) const { return fake_.base_url() + std::string(path); }

  Reply transcribe(Client& client, const std::string& wav, std::string format = {}) {
    std::vector<Part> parts{{"file", wav, "turn.wav", "audio/wav"}, {"model", "whisper-1"}};
    if (!format.empty()) parts.push_back({"response_format", format});
    return client.post(url("/v1/audio/transcriptions"), multipart(parts), multipart_headers());
  }

  Reply speak(Client& client, const std::string& input, std::string format = "pcm") {
    json::object body{
        {"model", "tts-1"}, {"input", input}, {"voice", "alloy"}, {"response_format", format}};
    return client.post(url("/v1/audio/speech"), json::serialize(body));
  }

  OpenAiFake fake_;
};

// ---- transcriptions ----

TEST_F(OpenAiFakeTest, TranscriptionParsesBinaryWavAndAnswersJson) {
  fake_.set_transcript("I need a table for four.");
  const auto wav = make_wav(16000, 1, 8000);
  ASSERT_NE(wav.find(std::string(8, '\0')), std::string::npos) << "the test WAV must hold NULs";
  Client client;
  const auto reply = client.post(
      url("/v1/audio/transcriptions"),
      multipart(
          {{"file", wav, "turn.wav", "audio/wav"}, {"model", "whisper-1"}, {"language", "en"}}),
      multipart_headers());
  ASSERT_EQ(reply.code, CURLE_OK);
  EXPECT_EQ(reply.status, 200);
  EXPECT_TRUE(reply.header("content-type").starts_with("application/json"));
  EXPECT_EQ(parse_json(reply.body), (json::value{{"text", "I need a table for four."}}));

  const auto requests = fake_.requests(FakeRoute::kTranscriptions);
  ASSERT_EQ(requests.size(), 1u);
  const auto& request = requests[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/v1/audio/transcriptions");
  EXPECT_EQ(request.status, 200u);
  EXPECT_TRUE(request.header("Content-Type").starts_with("multipart/form-data"));
  const auto* file = request.form_part("file");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->data, wav);
  EXPECT_EQ(file->filename, "turn.wav");
  EXPECT_EQ(file->content_type, "audio/wav");
  ASSERT_NE(request.form_part("model"), nullptr);
  EXPECT_EQ(request.form_part("model")->data, "whisper-1");
  EXPECT_FALSE(request.form_part("model")->filename);
  EXPECT_EQ(request.form_part("language")->data, "en");
  ASSERT_TRUE(request.wav);
  EXPECT_EQ(request.wav->format_tag, 1);
  EXPECT_EQ(request.wav->rate_hz, 16000u);
  EXPECT_EQ(request.wav->channels, 1);
  EXPECT_EQ(request.wav->bits_per_sample, 16);
  EXPECT_EQ(request.wav->n_samples, 8000u);
  EXPECT_EQ(request.wav->data_bytes, 16000u);
}

// curl's own multipart writer, a stereo file, response_format=text, and `Expect: 100-continue`
// (which libcurl sends by itself only for large uploads), answered so curl need not wait 1 s.
TEST_F(OpenAiFakeTest, TranscriptionFromCurlMimeAsText) {
  const auto wav = make_wav(8000, 2, 16000);
  Client client;
  curl_mime* mime = curl_mime_init(client.easy());
  curl_mimepart* part = curl_mime_addpart(mime);
  curl_mime_name(part, "file");
  curl_mime_data(part, wav.data(), wav.size());
  curl_mime_filename(part, "call.wav");
  curl_mime_type(part, "audio/x-wav");
  part = curl_mime_addpart(mime);
  curl_mime_name(part, "model");
  curl_mime_data(part, "whisper-1", CURL_ZERO_TERMINATED);
  part = curl_mime_addpart(mime);
  curl_mime_name(part, "response_format");
  curl_mime_data(part, "text", CURL_ZERO_TERMINATED);
  const auto start = Clock::now();
  const auto reply =
      client.post_mime(url("/v1/audio/transcriptions"), mime, {"Expect: 100-continue"});
  const auto elapsed = Clock::now() - start;
  curl_mime_free(mime);

  ASSERT_EQ(reply.code, CURLE_OK);
  EXPECT_EQ(reply.status, 200);
  EXPECT_TRUE(reply.header("content-type").starts_with("text/plain"));
  EXPECT_EQ(reply.body, std::string(OpenAiFake::kDefaultTranscript) + "\n");
  const auto request = fake_.requests(FakeRoute::kTranscriptions).at(0);
  EXPECT_EQ(request.header("expect"), "100-continue");
  EXPECT_LT(elapsed, 900ms) << "curl waited out its Expect timeout: no 100 Continue came";
  ASSERT_TRUE(request.wav);
  EXPECT_EQ(request.wav->channels, 2);
  EXPECT_EQ(request.wav->rate_hz, 8000u);
  EXPECT_EQ(request.wav->n_samples, 16000u);
  EXPECT_EQ(request.form_part("file")->data, wav);
}

TEST_F(OpenAiFakeTest, TranscriptionVerboseJsonGivesDuration) {
  Client client;
  const auto reply = transcribe(client, make_wav(16000, 1, 24000), "verbose_json");
  ASSERT_EQ(reply.status, 200);
  const auto body = parse_json(reply.body);
  EXPECT_EQ(body.at("text").as_string(), OpenAiFake::kDefaultTranscript);
  EXPECT_DOUBLE_EQ(body.at("duration").to_number<double>(), 1.5);
}

TEST_F(OpenAiFakeTest, BadMultipartIsRejectedWith400) {
  Client client;
  const auto wav = make_wav(16000, 1, 160);
  const auto good = multipart({{"file", wav, "a.wav", "audio/wav"}, {"model", "whisper-1"}});
  const auto endpoint = url("/v1/audio/transcriptions");

  // No boundary parameter.
  expect_openai_error(client.post(endpoint, good, {"Content-Type: multipart/form-data"}), 400,
                      "invalid_request_error");
  // Not multipart at all.
  expect_openai_error(client.post(endpoint, R"({"model":"whisper-1"})"), 400,
                      "invalid_request_error");
  // Cut off before the closing delimiter.
  expect_openai_error(client.post(endpoint, good.substr(0, good.size() / 2), multipart_headers()),
                      400, "invalid_request_error");
  // A different boundary than the header names.
  expect_openai_error(
      client.post(endpoint, good, {"Content-Type: multipart/form-data; boundary=other"}), 400,
      "invalid_request_error");
  // No file part; a file part without a filename; no model.
  expect_openai_error(
      client.post(endpoint, multipart({{"model", "whisper-1"}}), multipart_headers()), 400,
      "invalid_request_error");
  expect_openai_error(client.post(endpoint, multipart({{"file", wav}, {"model", "whisper-1"}}),
                                  multipart_headers()),
                      400, "invalid_request_error");
  expect_openai_error(
      client.post(endpoint, multipart({{"file", wav, "a.wav", "audio/wav"}}), multipart_headers()),
      400, "invalid_request_error");
  // A file that is not RIFF/WAVE, and a WAV without its data chunk.
  expect_openai_error(
      client.post(endpoint,
                  multipart({{"file", "ID3\x03 not a wav at all", "a.mp3", "audio/mpeg"},
                             {"model", "whisper-1"}}),
                  multipart_headers()),
      400, "invalid_request_error");
  expect_openai_error(client.post(endpoint,
                                  multipart({{"file", wav.substr(0, 36), "a.wav", "audio/wav"},
                                             {"model", "whisper-1"}}),
                                  multipart_headers()),
                      400, "invalid_request_error");
  EXPECT_EQ(fake_.request_count(FakeRoute::kTranscriptions), 9u);
  for (const auto& request : fake_.requests(FakeRoute::kTranscriptions)) {
    EXPECT_EQ(request.status, 400u);
    EXPECT_FALSE(request.wav);
  }
}

// ---- chat completions ----

TEST_F(OpenAiFakeTest, ChatCompletionWithoutStreaming) {
  fake_.set_chat_reply("We open at nine.");
  Client client;
  const auto reply = client.post(url("/v1/chat/completions"), chat_body(false));
  ASSERT_EQ(reply.code, CURLE_OK);
  EXPECT_EQ(reply.status, 200);
  EXPECT_TRUE(reply.header("content-type").starts_with("application/json"));
  const auto body = parse_json(reply.body).as_object();
  EXPECT_EQ(body.at("object").as_string(), "chat.completion");
  EXPECT_EQ(body.at("model").as_string(), "gpt-4o-mini");
  const auto& choice = body.at("choices").as_array().at(0).as_object();
  EXPECT_EQ(choice.at("message").at("role").as_string(), "assistant");
  EXPECT_EQ(choice.at("message").at("content").as_string(), "We open at nine.");
  EXPECT_FALSE(choice.at("message").as_object().contains("tool_calls"));
  EXPECT_EQ(choice.at("finish_reason").as_string(), "stop");
  EXPECT_GT(body.at("usage").at("total_tokens").to_number<std::uint64_t>(), 0u);

  const auto request = fake_.requests(FakeRoute::kChatCompletions).at(0);
  ASSERT_TRUE(request.json);
  EXPECT_EQ(request.json->at("messages").as_array().size(), 2u);
}

TEST_F(OpenAiFakeTest, ChatCompletionWithToolCallWithoutStreaming) {
  fake_.set_chat_reply("");
  fake_.set_tool_call("end_call", R"({"reason":"caller said goodbye"})");
  Client client;
  const auto reply = client.post(url("/v1/chat/completions"), chat_body(false));
  ASSERT_EQ(reply.status, 200);
  const auto body = parse_json(reply.body);
  const auto& choice = body.at("choices").as_array().at(0).as_object();
  EXPECT_EQ(choice.at("finish_reason").as_string(), "tool_calls");
  EXPECT_TRUE(choice.at("message").at("content").is_null());
  const auto& call = choice.at("message").at("tool_calls").as_array().at(0).as_object();
  EXPECT_TRUE(call.at("id").as_string().starts_with("call_"));
  EXPECT_EQ(call.at("type").as_string(), "function");
  EXPECT_EQ(call.at("function").at("name").as_string(), "end_call");
  EXPECT_EQ(parse_json(std::string(call.at("function").at("arguments").as_string())),
            (json::value{{"reason", "caller said goodbye"}}));
}

TEST_F(OpenAiFakeTest, ChatStreamIsServerSentEventsInChunkedEncoding) {
  const std::string reply_text = "Sure, for how many people and at what time would you like it?";
  fake_.set_chat_reply(reply_text);
  Client client;
  const auto reply = client.post(url("/v1/chat/completions"), chat_body(true));
  ASSERT_EQ(reply.code, CURLE_OK);
  EXPECT_EQ(reply.status, 200);
  EXPECT_TRUE(reply.header("content-type").starts_with("text/event-stream"));
  EXPECT_EQ(lowercase(reply.header("transfer-encoding")), "chunked");

  const auto streamed = reassemble(reply.body);
  EXPECT_TRUE(streamed.done);
  ASSERT_FALSE(streamed.chunks.empty());
  // The first chunk carries the role, the last one the finish reason and an empty delta.
  EXPECT_EQ(streamed.chunks.front().at("choices").at(0).at("delta").at("role").as_string(),
            "assistant");
  EXPECT_TRUE(streamed.chunks.back().at("choices").at(0).at("delta").as_object().empty());
  EXPECT_EQ(streamed.finish_reason, "stop");
  EXPECT_EQ(streamed.content, reply_text);
  EXPECT_GT(streamed.content_pieces.size(), 4u);
  for (const auto& piece : streamed.content_pieces) {
    EXPECT_GE(count_words(piece), 1u) << piece;
    EXPECT_LE(count_words(piece), 3u) << piece;
  }
  EXPECT_EQ(streamed.tool_chunks, 0u);
  EXPECT_EQ(streamed.chunks.size(), streamed.content_pieces.size() + 2);
}

TEST_F(OpenAiFakeTest, ChatStreamToolCallFragmentsReassembleToJson) {
  fake_.set_chat_reply("Goodbye!");
  const std::string arguments = R"({"reason":"the caller is done, merci beaucoup \u00e9t\u00e9"})";
  fake_.set_tool_call("end_call", arguments);
  Client client;
  const auto reply = client.post(url("/v1/chat/completions"), chat_body(true));
  ASSERT_EQ(reply.status, 200);
  const auto streamed = reassemble(reply.body);
  EXPECT_TRUE(streamed.done);
  EXPECT_EQ(streamed.content, "Goodbye!");
  EXPECT_EQ(streamed.finish_reason, "tool_calls");
  EXPECT_TRUE(streamed.tool_id.starts_with("call_"));
  EXPECT_EQ(streamed.tool_type, "function");
  EXPECT_EQ(streamed.tool_name, "end_call");
  EXPECT_GT(streamed.tool_chunks, 3u) << "arguments should come in several fragments";
  EXPECT_EQ(streamed.tool_arguments, arguments);
  EXPECT_TRUE(parse_json(streamed.tool_arguments).is_object());

  // The opening tool-call chunk has id, type, name and empty arguments, as OpenAI sends it.
  const auto opening = std::find_if(streamed.chunks.begin(), streamed.chunks.end(), [](auto& c) {
    return c.at("choices").at(0).at("delta").as_object().contains("tool_calls");
  });
  ASSERT_NE(opening, streamed.chunks.end());
  const auto& call = opening->at("choices").at(0).at("delta").at("tool_calls").at(0);
  EXPECT_EQ(call.at("function").at("arguments").as_string(), "");
}

TEST_F(OpenAiFakeTest, ChatStreamWithUsageEndsWithUsageChunk) {
  Client client;
  const auto reply = client.post(url("/v1/chat/completions"),
                                 chat_body(true, R"("stream_options":{"include_usage":true},)"));
  const auto streamed = reassemble(reply.body);
  EXPECT_TRUE(streamed.done);
  EXPECT_EQ(streamed.content, OpenAiFake::kDefaultChatReply);
  const auto& last = streamed.chunks.back();
  EXPECT_TRUE(last.at("choices").as_array().empty());
  EXPECT_GT(last.at("usage").at("completion_tokens").to_number<std::uint64_t>(), 0u);
}

TEST_F(OpenAiFakeTest, ChatStreamArrivesIncrementally) {
  constexpr auto kDelay = 40ms;
  fake_.set_stream_chunk_delay(kDelay);
  Client client;
  const auto reply = client.post(url("/v1/chat/completions"), chat_body(true));
  ASSERT_EQ(reply.code, CURLE_OK);
  const auto streamed = reassemble(reply.body);
  ASSERT_TRUE(streamed.done);
  const auto events = streamed.chunks.size() + 1;
  // The first event is handed over long before the last: it was not buffered up.
  ASSERT_GE(reply.pieces.size(), 2u);
  EXPECT_NE(reply.pieces.front().second.find("\"role\""), std::string::npos);
  const auto spread = reply.pieces.back().first - reply.pieces.front().first;
  EXPECT_GE(spread, kDelay * (events - 2));
}

TEST_F(OpenAiFakeTest, ChatRejectsInvalidBodies) {
  Client client;
  const auto endpoint = url("/v1/chat/completions");
  expect_openai_error(client.post(endpoint, "{not json"), 400, "invalid_request_error");
  expect_openai_error(client.post(endpoint, R"({"messages":[{"role":"user","content":"hi"}]})"),
                      400, "invalid_request_error");
  expect_openai_error(client.post(endpoint, R"({"model":"m","messages":[]})"), 400,
                      "invalid_request_error");
  expect_openai_error(client.post(endpoint, R"({"model":"m","messages":[{"content":"hi"}]})"), 400,
                      "invalid_request_error");
}

// ---- API key ----

TEST_F(OpenAiFakeTest, ApiKeyIsChecked) {
  fake_.require_api_key("sk-test-123");
  Client client;
  const auto endpoint = url("/v1/chat/completions");
  expect_openai_error(client.post(endpoint, chat_body(false)), 401, "invalid_request_error");
  const auto wrong = client.post(endpoint, chat_body(true),
                                 {"Content-Type: application/json", "Authorization: Bearer sk-no"});
  expect_openai_error(wrong, 401, "invalid_request_error");
  EXPECT_EQ(parse_json(wrong.body).at("error").at("code").as_string(), "invalid_api_key");
  const auto right =
      client.post(endpoint, chat_body(false),
                  {"Content-Type: application/json", "Authorization: Bearer sk-test-123"});
  EXPECT_EQ(right.status, 200);
  EXPECT_EQ(fake_.requests(FakeRoute::kChatCompletions).at(2).header("authorization"),
            "Bearer sk-test-123");
  // Every /v1 route checks it; the user's webhook does not.
  expect_openai_error(speak(client, "hello"), 401, "invalid_request_error");
  expect_openai_error(transcribe(client, make_wav(16000, 1, 160)), 401, "invalid_request_error");
  EXPECT_EQ(client.post(fake_.webhook_url(), "{}").status, 200);
}

// ---- speech ----

TEST_F(OpenAiFakeTest, SpeechPcmIsA24kToneProportionalToText) {
  Client client;
  const auto short_reply = speak(client, "Hello.");
  const auto long_reply = speak(client, "Hello, and thank you for calling.");
  ASSERT_EQ(short_reply.code, CURLE_OK);
  EXPECT_EQ(short_reply.status, 200);
  EXPECT_EQ(short_reply.header("content-type"), "audio/pcm");
  EXPECT_EQ(short_reply.body.size(), 6u * 1440 * 2);
  EXPECT_EQ(long_reply.body.size(), 33u * 1440 * 2);

  // 16-bit little-endian samples: peak near 8000, a zero crossing every 1/600 s at 300 Hz.
  const auto& pcm = long_reply.body;
  const std::size_t n = pcm.size() / 2;
  int peak = 0;
  std::size_t crossings = 0;
  std::int16_t previous = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto sample = static_cast<std::int16_t>(get_le(pcm, 2 * i, 2));
    peak = std::max(peak, std::abs(static_cast<int>(sample)));
    if (i > 0 && (previous < 0) != (sample < 0)) ++crossings;
    previous = sample;
  }
  EXPECT_NEAR(peak, 8000, 10);
  const double seconds = static_cast<double>(n) / 24000;
  EXPECT_NEAR(static_cast<double>(crossings), seconds * 600, 4);
  // Deterministic: the same text gives the same bytes.
  EXPECT_EQ(speak(client, "Hello.").body, short_reply.body);
}

TEST_F(OpenAiFakeTest, SpeechWavHasA24kMono16BitHeader) {
  Client client;
  const auto reply = speak(client, "One moment please.", "wav");
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.header("content-type"), "audio/wav");
  const auto& wav = reply.body;
  ASSERT_GE(wav.size(), 44u);
  EXPECT_EQ(wav.substr(0, 4), "RIFF");
  EXPECT_EQ(get_le(wav, 4, 4), wav.size() - 8);
  EXPECT_EQ(wav.substr(8, 8), "WAVEfmt ");
  EXPECT_EQ(get_le(wav, 20, 2), 1u);      // PCM
  EXPECT_EQ(get_le(wav, 22, 2), 1u);      // mono
  EXPECT_EQ(get_le(wav, 24, 4), 24000u);  // rate
  EXPECT_EQ(get_le(wav, 34, 2), 16u);     // bits
  EXPECT_EQ(wav.substr(36, 4), "data");
  EXPECT_EQ(get_le(wav, 40, 4), 18u * 1440 * 2);
  EXPECT_EQ(wav.size(), 44u + 18 * 1440 * 2);
}

TEST_F(OpenAiFakeTest, SpeechRejectsBadRequests) {
  Client client;
  const auto endpoint = url("/v1/audio/speech");
  expect_openai_error(speak(client, ""), 400, "invalid_request_error");
  expect_openai_error(speak(client, "hi", "mp3"), 400, "invalid_request_error");
  expect_openai_error(client.post(endpoint, R"({"model":"tts-1","voice":"alloy"})"), 400,
                      "invalid_request_error");
  expect_openai_error(client.post(endpoint, R"({"model":"tts-1","input":"hi","voice":"alloy"})"),
                      400, "invalid_request_error");  // the default format, mp3
}

// ---- webhook and other paths ----

TEST_F(OpenAiFakeTest, WebhookRecordsBodyAndAnswersConfiguredJson) {
  Client client;
  const auto reply = client.post(fake_.webhook_url(), R"({"call_sid":"CA1","text":"hi"})");
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, OpenAiFake::kDefaultWebhookAnswer);
  EXPECT_EQ(fake_.requests(FakeRoute::kWebhook).at(0).json->at("call_sid").as_string(), "CA1");

  fake_.set_webhook_path("/hooks/agent");
  fake_.set_webhook_answer(R"({"reply":"Bye.","action":"hangup"})");
  EXPECT_EQ(fake_.webhook_url(), fake_.base_url() + "/hooks/agent");
  EXPECT_EQ(client.post(fake_.webhook_url(), "{}").body, R"({"reply":"Bye.","action":"hangup"})");
  expect_openai_error(client.post(url("/agent"), "{}"), 404, "invalid_request_error");
  expect_openai_error(client.get(url("/v1/chat/completions")), 405, "invalid_request_error");
  EXPECT_EQ(fake_.request_count(FakeRoute::kWebhook), 2u);
  EXPECT_EQ(fake_.request_count(FakeRoute::kUnknown), 1u);
  EXPECT_EQ(fake_.request_count(), 4u);
}

// ---- failure injection ----

TEST_F(OpenAiFakeTest, DelayedAnswerDoesNotBlockOtherRequests) {
  fake_.set_failure(FakeRoute::kChatCompletions, Failure::delayed(600ms));
  auto slow = std::async(std::launch::async, [&] {
    Client client;
    const auto start = Clock::now();
    auto reply = client.post(url("/v1/chat/completions"), chat_body(false));
    return std::make_pair(reply, Clock::now() - start);
  });
  ASSERT_TRUE(fake_.wait_for_requests(FakeRoute::kChatCompletions, 1, 2s));
  Client client;
  const auto start = Clock::now();
  EXPECT_EQ(client.post(fake_.webhook_url(), "{}").status, 200);
  const auto fast_elapsed = Clock::now() - start;
  EXPECT_EQ(slow.wait_for(0s), std::future_status::timeout) << "the slow answer came too soon";
  const auto [reply, slow_elapsed] = slow.get();
  EXPECT_EQ(reply.status, 200);
  EXPECT_GE(slow_elapsed, 600ms);
  EXPECT_LT(fast_elapsed, 400ms);
}

TEST_F(OpenAiFakeTest, ServerErrorOnEveryRoute) {
  for (auto route : {FakeRoute::kTranscriptions, FakeRoute::kChatCompletions, FakeRoute::kSpeech,
                     FakeRoute::kWebhook}) {
    fake_.set_failure(route, Failure::server_error());
  }
  Client client;
  expect_openai_error(transcribe(client, make_wav(16000, 1, 160)), 500, "server_error");
  expect_openai_error(client.post(url("/v1/chat/completions"), chat_body(true)), 500,
                      "server_error");
  expect_openai_error(speak(client, "hello"), 500, "server_error");
  expect_openai_error(client.post(fake_.webhook_url(), "{}"), 500, "server_error");
}

TEST_F(OpenAiFakeTest, MalformedAnswers) {
  for (auto route : {FakeRoute::kTranscriptions, FakeRoute::kChatCompletions, FakeRoute::kSpeech,
                     FakeRoute::kWebhook}) {
    fake_.set_failure(route, Failure::malformed());
  }
  Client client;
  auto reply = transcribe(client, make_wav(16000, 1, 160));
  EXPECT_EQ(reply.status, 200);
  EXPECT_FALSE(is_json(reply.body)) << reply.body;
  reply = client.post(url("/v1/chat/completions"), chat_body(false));
  EXPECT_EQ(reply.status, 200);
  EXPECT_FALSE(is_json(reply.body)) << reply.body;
  reply = client.post(fake_.webhook_url(), "{}");
  EXPECT_EQ(reply.status, 200);
  EXPECT_FALSE(is_json(reply.body)) << reply.body;

  // Streaming: a good role event, a garbled one, then the connection drops mid-body.
  Client stream_client;
  reply = stream_client.post(url("/v1/chat/completions"), chat_body(true));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.code, CURLE_PARTIAL_FILE) << curl_easy_strerror(reply.code);
  const auto second_event = reply.body.find("\n\ndata: ");
  ASSERT_NE(second_event, std::string::npos) << reply.body;
  EXPECT_TRUE(is_json(reply.body.substr(6, second_event - 6)));
  const auto garbled = reply.body.substr(second_event + 8);
  EXPECT_FALSE(is_json(garbled.substr(0, garbled.find("\n\n")))) << garbled;
  EXPECT_EQ(reply.body.find("[DONE]"), std::string::npos);

  // Speech: 200 and an audio type, but neither a WAV nor whole 16-bit samples.
  reply = speak(client, "hello", "wav");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.header("content-type"), "audio/wav");
  EXPECT_FALSE(reply.body.starts_with("RIFF"));
  reply = speak(client, "hello", "pcm");
  EXPECT_EQ(reply.header("content-type"), "audio/pcm");
  EXPECT_EQ(reply.body.size() % 2, 1u);

  // Bad requests still earn their 400.
  expect_openai_error(speak(client, ""), 400, "invalid_request_error");
}

TEST_F(OpenAiFakeTest, CloseWithoutAnswer) {
  fake_.set_failure(FakeRoute::kSpeech, Failure::close_without_answer());
  fake_.set_failure(FakeRoute::kChatCompletions, Failure::close_without_answer());
  Client client;
  const auto reply = speak(client, "hello");
  EXPECT_EQ(reply.code, CURLE_GOT_NOTHING) << curl_easy_strerror(reply.code);
  EXPECT_TRUE(reply.body.empty());
  EXPECT_EQ(client.post(url("/v1/chat/completions"), chat_body(true)).code, CURLE_GOT_NOTHING);
  const auto recorded = fake_.requests(FakeRoute::kSpeech);
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].status, 0u);
  // The client recovers on a new connection.
  fake_.set_failure(FakeRoute::kSpeech, Failure::none());
  EXPECT_EQ(speak(client, "hello").status, 200);
}

TEST_F(OpenAiFakeTest, StreamStallsAfterNChunks) {
  fake_.set_chat_reply("one two three four five six seven eight nine ten");
  fake_.set_failure(FakeRoute::kChatCompletions, Failure::stall(2));
  Client client;
  const auto reply = client.post(url("/v1/chat/completions"), chat_body(true),
                                 {"Content-Type: application/json"}, 400ms);
  EXPECT_EQ(reply.code, CURLE_OPERATION_TIMEDOUT) << curl_easy_strerror(reply.code);
  EXPECT_EQ(reply.status, 200);
  const auto streamed = reassemble(reply.body);
  EXPECT_FALSE(streamed.done);
  EXPECT_EQ(streamed.role, "assistant");
  EXPECT_EQ(streamed.content_pieces.size(), 2u);
  EXPECT_EQ(streamed.content, "one two three");  // pieces of 1, then 2 words
  EXPECT_TRUE(streamed.finish_reason.empty());
}

TEST_F(OpenAiFakeTest, StallWithoutStreamingNeverAnswers) {
  fake_.set_failure(FakeRoute::kTranscriptions, Failure::stall());
  Client client;
  const auto timed = client.post(
      url("/v1/audio/transcriptions"),
      multipart({{"file", make_wav(16000, 1, 160), "a.wav", "audio/wav"}, {"model", "whisper-1"}}),
      multipart_headers(), 300ms);
  EXPECT_EQ(timed.code, CURLE_OPERATION_TIMEDOUT);
  EXPECT_EQ(timed.status, 0);
  EXPECT_EQ(fake_.request_count(FakeRoute::kTranscriptions), 1u);
  EXPECT_EQ(fake_.requests(FakeRoute::kTranscriptions).at(0).status, 0u);
}

// ---- connections and bookkeeping ----

TEST_F(OpenAiFakeTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Client client;
  const auto first = client.post(url("/v1/chat/completions"), chat_body(true));
  const auto second = speak(client, "hi");
  const auto third = transcribe(client, make_wav(16000, 1, 800));
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(third.status, 200);
  EXPECT_EQ(first.connects, 1);
  EXPECT_EQ(second.connects, 0) << "the second request should reuse the connection";
  EXPECT_EQ(third.connects, 0);
  EXPECT_EQ(fake_.connections_accepted(), 1u);
  EXPECT_EQ(fake_.request_count(), 3u);
}

TEST_F(OpenAiFakeTest, ResetForgetsRequestsAndConfiguration) {
  fake_.set_chat_reply("custom");
  fake_.require_api_key("sk-x");
  Client client;
  client.post(url("/v1/chat/completions"), chat_body(false));
  EXPECT_EQ(fake_.request_count(), 1u);
  fake_.reset();
  EXPECT_EQ(fake_.request_count(), 0u);
  EXPECT_TRUE(fake_.all_requests().empty());
  const auto reply = client.post(url("/v1/chat/completions"), chat_body(false));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(parse_json(reply.body).at("choices").at(0).at("message").at("content").as_string(),
            OpenAiFake::kDefaultChatReply);
}

}  // namespace
}  // namespace voxgate::testing

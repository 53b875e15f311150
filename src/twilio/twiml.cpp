// TwiML serialization. The document is built as text, verb by verb: TwiML is flat enough that an
// XML DOM would add a dependency and nothing else. All escaping happens in append_escaped().
#include "twilio/twiml.hpp"

#include <array>
#include <boost/url.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace voxgate::twilio {
namespace {

constexpr std::string_view kDeclaration = R"(<?xml version="1.0" encoding="UTF-8"?>)";
constexpr std::string_view kEmptyResponse = "<Response/>";
constexpr std::string_view kResponseOpen = "<Response>";
constexpr std::string_view kResponseClose = "</Response>";

// <Stream>: "combined length of each parameter's name+value must be < 500 chars" (§1.5).
constexpr std::size_t kMaxParameterBytes = 500;

// Length of the well-formed UTF-8 sequence at s[i] whose code point XML 1.0 allows
// (production [2] Char), or 0 when the byte at s[i] must be dropped.
std::size_t xml_char_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) -> unsigned {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0x100u;
  };
  const auto in = [](unsigned b, unsigned lo, unsigned hi) { return b >= lo && b <= hi; };
  const unsigned b0 = byte(0);
  if (b0 < 0x80) return (b0 >= 0x20 || b0 == '\t' || b0 == '\n' || b0 == '\r') ? 1 : 0;
  if (in(b0, 0xC2, 0xDF)) return in(byte(1), 0x80, 0xBF) ? 2 : 0;
  if (in(b0, 0xE0, 0xEF)) {
    // E0 needs A0..BF (no overlong forms); ED needs 80..9F (no UTF-16 surrogates).
    const unsigned lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const unsigned hi = b0 == 0xED ? 0x9F : 0xBF;
    if (!in(byte(1), lo, hi) || !in(byte(2), 0x80, 0xBF)) return 0;
    // U+FFFE and U+FFFF are not XML characters.
    if (b0 == 0xEF && byte(1) == 0xBF && byte(2) >= 0xBE) return 0;
    return 3;
  }
  if (in(b0, 0xF0, 0xF4)) {
    // F0 needs 90..BF (no overlong forms); F4 needs 80..8F (nothing above U+10FFFF).
    const unsigned lo = b0 == 0xF0 ? 0x90 : 0x80;
    const unsigned hi = b0 == 0xF4 ? 0x8F : 0xBF;
    if (!in(byte(1), lo, hi) || !in(byte(2), 0x80, 0xBF) || !in(byte(3), 0x80, 0xBF)) return 0;
    return 4;
  }
  return 0;
}

// In attribute values, tab, newline and CR are written as character references: an XML parser
// turns literal ones into spaces (XML 1.0 §3.3.3 attribute-value normalization).
void append_escaped(std::string& out, std::string_view text, bool in_attribute) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = xml_char_length(text, i);
    if (n == 0) {
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    const char c = text[i++];
    switch (c) {
      case '&':
        out.append("&amp;");
        break;
      case '<':
        out.append("&lt;");
        break;
      case '>':
        out.append("&gt;");
        break;
      case '"':
        out.append("&quot;");
        break;
      case '\'':
        out.append("&apos;");
        break;
      case '\t':
        out.append(in_attribute ? "&#9;" : "\t");
        break;
      case '\n':
        out.append(in_attribute ? "&#10;" : "\n");
        break;
      case '\r':
        out.append(in_attribute ? "&#13;" : "\r");
        break;
      default:
        out.push_back(c);
    }
  }
}

}  // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_escaped(out, text, /*in_attribute=*/false);
  return out;
}

TwimlResponse& TwimlResponse::say(std::string_view text, std::string_view voice) {
  if (voice.empty()) {
    append_element("Say", {}, text);
  } else {
    const std::array<Attribute, 1> attributes{{{"voice", std::string(voice)}}};
    append_element("Say", attributes, text);
  }
  return *this;
}

TwimlResponse& TwimlResponse::play(std::string_view url) {
  append_element("Play", {}, url);
  return *this;
}

TwimlResponse& TwimlResponse::pause(int length_s) {
  const std::array<Attribute, 1> attributes{{{"length", std::to_string(length_s)}}};
  append_element("Pause", attributes, {});
  return *this;
}

TwimlResponse& TwimlResponse::record(const RecordOptions& options) {
  std::vector<Attribute> attributes;
  attributes.reserve(8);
  if (!options.action.empty()) attributes.push_back({"action", options.action});
  if (!options.method.empty()) attributes.push_back({"method", options.method});
  attributes.push_back({"timeout", std::to_string(options.timeout_s)});
  attributes.push_back({"maxLength", std::to_string(options.max_length_s)});
  attributes.push_back({"playBeep", options.play_beep ? "true" : "false"});
  if (!options.trim.empty()) attributes.push_back({"trim", options.trim});
  if (!options.finish_on_key.empty()) attributes.push_back({"finishOnKey", options.finish_on_key});
  if (!options.recording_status_callback.empty()) {
    attributes.push_back({"recordingStatusCallback", options.recording_status_callback});
  }
  append_element("Record", attributes, {});
  return *this;
}

TwimlResponse& TwimlResponse::redirect(std::string_view url, std::string_view method) {
  if (method.empty()) {
    append_element("Redirect", {}, url);
  } else {
    const std::array<Attribute, 1> attributes{{{"method", std::string(method)}}};
    append_element("Redirect", attributes, url);
  }
  return *this;
}

TwimlResponse& TwimlResponse::connect_stream(const StreamOptions& options) {
  std::vector<Attribute> stream_attributes;
  stream_attributes.push_back({"url", options.url});
  if (!options.name.empty()) stream_attributes.push_back({"name", options.name});
  if (!options.status_callback.empty()) {
    stream_attributes.push_back({"statusCallback", options.status_callback});
  }

  verbs_.append("<Connect>");
  const bool has_parameters = !options.parameters.empty();
  append_open_tag(verbs_, "Stream", stream_attributes, /*self_closing=*/!has_parameters);
  if (has_parameters) {
    for (const auto& [name, value] : options.parameters) {
      const std::array<Attribute, 2> attributes{{{"name", name}, {"value", value}}};
      append_open_tag(verbs_, "Parameter", attributes, /*self_closing=*/true);
    }
    verbs_.append("</Stream>");
  }
  verbs_.append("</Connect>");
  return *this;
}

TwimlResponse& TwimlResponse::dial(std::string_view number) {
  append_element("Dial", {}, number);
  return *this;
}

TwimlResponse& TwimlResponse::hangup() {
  append_element("Hangup", {}, {});
  return *this;
}

std::string TwimlResponse::str() const {
  std::string out;
  out.reserve(size_bytes());
  out.append(kDeclaration);
  if (verbs_.empty()) {
    out.append(kEmptyResponse);
  } else {
    out.append(kResponseOpen);
    out.append(verbs_);
    out.append(kResponseClose);
  }
  return out;
}

std::size_t TwimlResponse::size_bytes() const {
  if (verbs_.empty()) return kDeclaration.size() + kEmptyResponse.size();
  return kDeclaration.size() + kResponseOpen.size() + verbs_.size() + kResponseClose.size();
}

std::optional<std::string> TwimlResponse::validate(const StreamOptions& options) {
  if (options.url.empty()) return "Stream url is empty";
  const auto parsed = boost::urls::parse_uri_reference(options.url);
  if (!parsed) return "Stream url is not a valid URI reference: " + options.url;
  // Twilio wants custom data in <Parameter> elements; a query string can fail the WebSocket
  // handshake (error 31920, §1.5).
  if (parsed->has_query()) return "Stream url must not contain a query string: " + options.url;
  if (parsed->has_scheme() && parsed->scheme_id() != boost::urls::scheme::wss) {
    return "Stream url must use wss://: " + options.url;
  }
  std::set<std::string_view> names;
  for (const auto& [name, value] : options.parameters) {
    if (name.empty()) return std::string("Stream Parameter has an empty name");
    // customParameters is a flat JSON object (§1.2): a repeated name would lose a value.
    if (!names.insert(name).second) return "Stream Parameter name repeated: " + name;
    if (name.size() + value.size() >= kMaxParameterBytes) {
      return "Stream Parameter " + name + ": name + value must be shorter than 500 characters";
    }
  }
  return std::nullopt;
}

void TwimlResponse::append_element(std::string_view name, std::span<const Attribute> attributes,
                                   std::string_view text) {
  const bool self_closing = text.empty();
  append_open_tag(verbs_, name, attributes, self_closing);
  if (self_closing) return;
  append_escaped(verbs_, text, /*in_attribute=*/false);
  verbs_.append("</");
  verbs_.append(name);
  verbs_.push_back('>');
}

void TwimlResponse::append_open_tag(std::string& out, std::string_view name,
                                    std::span<const Attribute> attributes, bool self_closing) {
  out.push_back('<');
  out.append(name);
  for (const Attribute& attribute : attributes) {
    out.push_back(' ');
    out.append(attribute.name);
    out.append("=\"");
    append_escaped(out, attribute.value, /*in_attribute=*/true);
    out.push_back('"');
  }
  out.append(self_closing ? "/>" : ">");
}

std::string websocket_url_of(std::string_view http_url) {
  if (http_url.starts_with("https://")) return "wss://" + std::string(http_url.substr(8));
  if (http_url.starts_with("http://")) return "ws://" + std::string(http_url.substr(7));
  return std::string(http_url);
}

}  // namespace voxgate::twilio

// multipart/form-data decoding by a single forward scan for delimiters; part payloads are
// views into the body, so an upload of a few megabytes is never copied here.
//
// The delimiter search uses Boyer-Moore-Horspool: the needle ("\r\n--" + a boundary of up to
// 70 characters) is long and binary audio is full of CR and LF bytes, which would make a
// first-byte scan stop at almost every sample.
#include "net/multipart.hpp"

#include <algorithm>
#include <functional>
#include <string>
#include <utility>

namespace voxgate::net {
namespace {

// RFC 2046 §5.1.1: "Boundary delimiters must not appear within the encapsulated material,
// and must be no longer than 70 characters, not counting the two leading hyphens."
constexpr std::size_t kMaxBoundaryBytes = 70;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

MultipartResult failure(MultipartError error, std::string message) {
  MultipartResult result;
  result.error = error;
  result.message = std::move(message);
  return result;
}

std::string where(std::size_t part_number, std::size_t offset) {
  return "part " + std::to_string(part_number) + " (byte " + std::to_string(offset) + ")";
}

// One `; name=value` parameter of a header value, the name lowercased. The value is unescaped
// when it was a quoted-string (RFC 2045 §5.1, RFC 7230 §3.2.6).
struct Parameter {
  std::string name;
  std::string value;
};

// Parses the parameters after a header's main value (`rest` starts after its first ';').
// Parameters without '=' are ignored; an unterminated quoted-string fails the whole header,
// since where it was meant to end cannot be known.
std::optional<std::vector<Parameter>> parse_parameters(std::string_view rest) {
  std::vector<Parameter> parameters;
  std::size_t i = 0;
  while (i < rest.size()) {
    if (is_space(rest[i]) || rest[i] == ';') {
      ++i;
      continue;
    }
    const std::size_t name_end = std::min(rest.find_first_of("=;", i), rest.size());
    const std::string_view name = trim(rest.substr(i, name_end - i));
    i = name_end;
    if (i == rest.size() || rest[i] == ';') continue;
    ++i;  // '='
    while (i < rest.size() && is_space(rest[i])) ++i;

    Parameter parameter;
    parameter.name.reserve(name.size());
    for (char c : name) parameter.name += lower(c);
    if (i < rest.size() && rest[i] == '"') {
      bool closed = false;
      for (++i; i < rest.size(); ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) {
          parameter.value += rest[++i];
        } else if (rest[i] == '"') {
          closed = true;
          ++i;
          break;
        } else {
          parameter.value += rest[i];
        }
      }
      if (!closed) return std::nullopt;
      // Anything between the closing quote and the next ';' is not valid; skip it.
      i = std::min(rest.find(';', i), rest.size());
    } else {
      const std::size_t value_end = std::min(rest.find(';', i), rest.size());
      parameter.value = std::string(trim(rest.substr(i, value_end - i)));
      i = value_end;
    }
    parameters.push_back(std::move(parameter));
  }
  return parameters;
}

// Splits "type/subtype; a=b" into the trimmed main value and its parameters.
std::pair<std::string_view, std::string_view> split_header_value(std::string_view value) {
  const std::size_t semicolon = value.find(';');
  if (semicolon == std::string_view::npos) return {trim(value), {}};
  return {trim(value.substr(0, semicolon)), value.substr(semicolon + 1)};
}

bool valid_boundary(std::string_view boundary) {
  if (boundary.empty() || boundary.size() > kMaxBoundaryBytes || boundary.back() == ' ') {
    return false;
  }
  return std::all_of(boundary.begin(), boundary.end(),
                     [](char c) { return c >= 0x20 && c <= 0x7e; });
}

// What follows "--boundary" at `pos`.
enum class DelimiterEnd { kNone, kNext, kClose };

// A delimiter ends in "--" (the close delimiter) or in optional transport padding and a line
// end; "--boundaryX..." is a data line that only starts like one. Sets `after` to the first
// byte past the delimiter line.
DelimiterEnd delimiter_end(std::string_view body, std::size_t pos, std::size_t& after) {
  if (body.substr(pos, 2) == "--") {
    after = pos + 2;
    return DelimiterEnd::kClose;
  }
  while (pos < body.size() && is_space(body[pos])) ++pos;
  if (body.substr(pos, 2) == "\r\n") {
    after = pos + 2;
    return DelimiterEnd::kNext;
  }
  if (body.substr(pos, 1) == "\n") {
    after = pos + 1;
    return DelimiterEnd::kNext;
  }
  return DelimiterEnd::kNone;
}

// `part` lies between a delimiter line and the line end before the next delimiter. Returns
// false (with `message` set) if its headers are malformed; `named` tells whether the part is
// kept.
bool parse_part(std::string_view part, MultipartPart& out, bool& named, std::string& message) {
  named = false;
  std::string disposition;
  std::string content_type;
  bool seen_disposition = false;
  bool seen_content_type = false;
  std::string* last_value = nullptr;  // for folded lines
  std::string ignored;

  std::size_t pos = 0;
  std::string_view data;
  // A part with neither headers nor payload is an empty, nameless part.
  if (part.empty()) return true;
  for (;;) {
    const std::size_t line_end = part.find('\n', pos);
    if (line_end == std::string_view::npos) {
      message = "has no blank line after its headers";
      return false;
    }
    std::string_view line = part.substr(pos, line_end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = line_end + 1;
    if (line.empty()) {
      data = part.substr(pos);
      break;
    }
    if (is_space(line.front())) {
      if (last_value == nullptr) {
        message = "starts with a continuation line";
        return false;
      }
      *last_value += ' ';
      *last_value += trim(line);
      continue;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      message = "has a header line without ':'";
      return false;
    }
    const std::string_view name = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    // The first of a repeated header wins; later ones are ignored like unknown headers.
    if (iequals(name, "Content-Disposition") && !seen_disposition) {
      seen_disposition = true;
      disposition = value;
      last_value = &disposition;
    } else if (iequals(name, "Content-Type") && !seen_content_type) {
      seen_content_type = true;
      content_type = value;
      last_value = &content_type;
    } else {
      ignored.clear();
      last_value = &ignored;
    }
  }

  if (!seen_disposition) return true;
  const auto [type, rest] = split_header_value(disposition);
  if (!iequals(type, "form-data")) return true;
  const auto parameters = parse_parameters(rest);
  if (!parameters) {
    message = "has an unterminated quoted string in Content-Disposition";
    return false;
  }
  bool has_name = false;
  bool has_filename = false;
  out = MultipartPart{};
  for (const Parameter& parameter : *parameters) {
    // Extended parameters (`filename*=utf-8''...`, RFC 5987) end in '*' and fall through
    // here: RFC 7578 §4.2 says senders must not use them, and the plain form is the one
    // every client sends.
    if (parameter.name == "name" && !has_name) {
      has_name = true;
      out.name = parameter.value;
    } else if (parameter.name == "filename" && !has_filename) {
      has_filename = true;
      out.filename = parameter.value;
    }
  }
  if (!has_name) return true;
  out.content_type = std::string(trim(content_type));
  out.data = data;
  named = true;
  return true;
}

}  // namespace

std::string_view to_string(MultipartError error) {
  switch (error) {
    case MultipartError::kNotMultipart:
      return "not multipart/form-data";
    case MultipartError::kNoBoundary:
      return "missing or invalid boundary";
    case MultipartError::kMalformed:
      return "malformed multipart body";
    case MultipartError::kTooManyParts:
      return "too many parts";
  }
  return "unknown multipart error";
}

MultipartResult parse_multipart(std::string_view content_type, std::string_view body,
                                std::size_t max_parts) {
  const auto [media_type, type_rest] = split_header_value(content_type);
  if (!iequals(media_type, "multipart/form-data")) {
    return failure(MultipartError::kNotMultipart, "the Content-Type is not multipart/form-data");
  }
  const auto type_parameters = parse_parameters(type_rest);
  if (!type_parameters) {
    return failure(MultipartError::kNoBoundary,
                   "the Content-Type has an unterminated quoted string");
  }
  const auto boundary_parameter =
      std::find_if(type_parameters->begin(), type_parameters->end(),
                   [](const Parameter& parameter) { return parameter.name == "boundary"; });
  if (boundary_parameter == type_parameters->end()) {
    return failure(MultipartError::kNoBoundary, "the Content-Type has no boundary parameter");
  }
  const std::string& boundary = boundary_parameter->value;
  if (!valid_boundary(boundary)) {
    return failure(MultipartError::kNoBoundary,
                   "the boundary must be 1 to " + std::to_string(kMaxBoundaryBytes) +
                       " printable characters not ending in a space (got " +
                       std::to_string(boundary.size()) + " bytes)");
  }
  const std::string dash_boundary = "--" + boundary;

  // The first delimiter: at the very start, or after a preamble on a line of its own.
  std::size_t after = 0;
  DelimiterEnd end = DelimiterEnd::kNone;
  std::string_view line_end;
  {
    const std::string needle = "\n" + dash_boundary;
    const std::boyer_moore_horspool_searcher searcher(needle.begin(), needle.end());
    std::size_t candidate = 0;
    bool at_start = body.substr(0, dash_boundary.size()) == dash_boundary;
    for (;;) {
      if (!at_start) {
        const auto found = std::search(body.begin() + static_cast<std::ptrdiff_t>(candidate),
                                       body.end(), searcher);
        if (found == body.end()) {
          return failure(MultipartError::kMalformed, "the body has no boundary delimiter");
        }
        candidate = static_cast<std::size_t>(found - body.begin()) + 1;
      }
      at_start = false;
      end = delimiter_end(body, candidate + dash_boundary.size(), after);
      if (end != DelimiterEnd::kNone) break;
      ++candidate;
    }
    if (end == DelimiterEnd::kClose) return MultipartResult{};
    line_end = body[after - 2] == '\r' ? std::string_view("\r\n") : std::string_view("\n");
  }

  const std::string delimiter = std::string(line_end) + dash_boundary;
  const std::boyer_moore_horspool_searcher searcher(delimiter.begin(), delimiter.end());
  MultipartResult result;
  std::size_t n_parts = 0;
  std::size_t part_start = after;
  while (end == DelimiterEnd::kNext) {
    ++n_parts;
    if (n_parts > max_parts) {
      return failure(MultipartError::kTooManyParts,
                     "the body has more than " + std::to_string(max_parts) + " parts");
    }
    std::size_t search_from = part_start;
    std::size_t part_end = 0;
    for (;;) {
      const auto found = std::search(body.begin() + static_cast<std::ptrdiff_t>(search_from),
                                     body.end(), searcher);
      if (found == body.end()) {
        return failure(MultipartError::kMalformed, where(n_parts, part_start) +
                                                       " is not followed by a boundary delimiter "
                                                       "(truncated body?)");
      }
      part_end = static_cast<std::size_t>(found - body.begin());
      end = delimiter_end(body, part_end + delimiter.size(), after);
      if (end != DelimiterEnd::kNone) break;
      search_from = part_end + 1;
    }
    // In a bare-LF body a client that writes CRLF only before delimiters is still read right.
    if (line_end == "\n" && part_end > part_start && body[part_end - 1] == '\r') --part_end;

    MultipartPart part;
    bool named = false;
    std::string message;
    if (!parse_part(body.substr(part_start, part_end - part_start), part, named, message)) {
      return failure(MultipartError::kMalformed, where(n_parts, part_start) + " " + message);
    }
    if (named) result.parts.push_back(std::move(part));
    part_start = after;
  }
  return result;
}

const MultipartPart* find_part(const MultipartResult& result, std::string_view name) {
  for (const MultipartPart& part : result.parts) {
    if (part.name == name) return &part;
  }
  return nullptr;
}

}  // namespace voxgate::net

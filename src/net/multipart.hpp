// Decoding of multipart/form-data bodies (RFC 7578 on RFC 2046 §5.1), the format of the HTTP
// audio upload API: `curl -F audio=@chunk.wav` and Python's
// `requests.post(url, files={'audio': open('chunk.wav', 'rb')})` both send one.
//
// Rules:
// - the request's Content-Type must be multipart/form-data (case-insensitive) with a
//   `boundary` parameter, quoted or not, of 1 to 70 printable ASCII characters not ending in
//   a space (RFC 2046 allows fewer characters; we take what clients actually send);
// - text before the first delimiter (preamble) and after the close delimiter (epilogue) is
//   ignored; a delimiter line may carry trailing spaces or tabs (transport padding);
// - the first delimiter line sets the line ending for the whole body: CRLF as the RFC says,
//   or a bare LF from hand-made clients. Only "<line end>--boundary" followed by "--" or by
//   the end of the line is a delimiter, so payload bytes that merely resemble the boundary
//   (mid-line, or after the other kind of line end) stay data. In an LF body, a CR just
//   before a delimiter's LF is taken as part of the line end;
// - part header names are case-insensitive; lines may end in CRLF or LF; obsolete folded
//   lines (starting with a space or tab) continue the previous header; a line without ':' is
//   an error;
// - Content-Disposition must have type form-data; its `name` and `filename` parameters may be
//   quoted (with backslash escapes) or bare tokens; extended parameters such as `filename*=`
//   (RFC 5987) are ignored, so a plain `filename` next to one still counts. Percent escapes
//   that browsers use for quotes (%22) are left as they are;
// - a part with no Content-Disposition, another disposition type, or no `name` parameter is
//   skipped (it still counts towards max_parts): a stray part should not fail an upload whose
//   fields are all there, and the caller reports a missing field by name anyway;
// - a missing close delimiter (a truncated upload) is an error.
//
// Contract: pure functions, safe from any thread, nothing is copied out of the body: the
// `data` of each part points into it, so the body must outlive the result. Bad input is
// reported in the result, never thrown (a request body comes from outside); callers answer
// 400 (or 415 for kNotMultipart).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace voxgate::net {

struct MultipartPart {
  std::string name;          // Content-Disposition `name`, unescaped
  std::string filename;      // Content-Disposition `filename`, unescaped; empty if none
  std::string content_type;  // the part's Content-Type as sent, trimmed; empty if none
                             // (RFC 7578 §4.4: then text/plain, or a file's own type)
  std::string_view data;     // the payload, into the body; may hold any bytes
};

enum class MultipartError {
  kNotMultipart,  // the Content-Type is not multipart/form-data
  kNoBoundary,    // no boundary parameter, or one that is empty, too long or unprintable
  kMalformed,     // no delimiter, bad part headers, or no close delimiter
  kTooManyParts,  // more than max_parts parts
};

// A short fixed description, e.g. "missing or invalid boundary".
std::string_view to_string(MultipartError error);

struct MultipartResult {
  // Every named part in body order on success; empty on error, so no caller acts on half a
  // request.
  std::vector<MultipartPart> parts;
  // Set when the body was rejected.
  std::optional<MultipartError> error;
  // Empty on success; otherwise a sentence for the log or a 400 answer saying what was wrong
  // and where (by part number and byte offset, never by content).
  std::string message;

  bool ok() const { return !error.has_value(); }
};

// content_type: the request's Content-Type header value. A body with no parts at all (only a
// close delimiter) is valid and gives none.
MultipartResult parse_multipart(std::string_view content_type, std::string_view body,
                                std::size_t max_parts = 32);

// The first part called `name`, or nullptr when there is none. The pointer lives as long as
// `result` is unchanged.
const MultipartPart* find_part(const MultipartResult& result, std::string_view name);

}  // namespace voxgate::net

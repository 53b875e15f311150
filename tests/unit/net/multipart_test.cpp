// Tests for multipart/form-data decoding: bodies byte for byte as curl 7.88 and Python
// requests 2.x send them (captured from the real tools on loopback), binary payloads, the
// tolerated variants (quoted boundary, bare LF, preamble, folded headers) and every error.
#include "net/multipart.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace voxgate::net {
namespace {

using namespace std::string_literals;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A tiny WAV-looking payload with NUL, 0xFF and a line that starts like a delimiter of some
// other boundary.
const std::string kWavBytes = "RIFF$\0\0\0WAVEfmt \r\n--x\0\xff"s;

MultipartResult parsed(std::string_view content_type, std::string_view body,
                       std::size_t max_parts = 32) {
  MultipartResult result = parse_multipart(content_type, body, max_parts);
  EXPECT_TRUE(result.ok()) << result.message;
  EXPECT_THAT(result.message, IsEmpty());
  return result;
}

MultipartResult rejected(std::string_view content_type, std::string_view body,
                         MultipartError expected, std::size_t max_parts = 32) {
  MultipartResult result = parse_multipart(content_type, body, max_parts);
  EXPECT_EQ(result.error, expected) << result.message;
  EXPECT_THAT(result.parts, IsEmpty());
  EXPECT_FALSE(result.message.empty());
  return result;
}

TEST(MultipartTest, CurlBody) {
  // curl -F audio=@chunk.wav -F language=en -F 'audio2=@chunk.wav;type=audio/x-wav'
  const std::string content_type =
      "multipart/form-data; boundary=------------------------3515f49e6304e1a0";
  const std::string body =
      "--------------------------3515f49e6304e1a0\r\n"
      "Content-Disposition: form-data; name=\"audio\"; filename=\"chunk.wav\"\r\n"
      "Content-Type: application/octet-stream\r\n"
      "\r\n" +
      kWavBytes +
      "\r\n"
      "--------------------------3515f49e6304e1a0\r\n"
      "Content-Disposition: form-data; name=\"language\"\r\n"
      "\r\n"
      "en\r\n"
      "--------------------------3515f49e6304e1a0\r\n"
      "Content-Disposition: form-data; name=\"audio2\"; filename=\"chunk.wav\"\r\n"
      "Content-Type: audio/x-wav\r\n"
      "\r\n" +
      kWavBytes +
      "\r\n"
      "--------------------------3515f49e6304e1a0--\r\n";
  const MultipartResult result = parsed(content_type, body);
  ASSERT_EQ(result.parts.size(), 3u);
  EXPECT_EQ(result.parts[0].name, "audio");
  EXPECT_EQ(result.parts[0].filename, "chunk.wav");
  EXPECT_EQ(result.parts[0].content_type, "application/octet-stream");
  EXPECT_EQ(result.parts[0].data, kWavBytes);
  EXPECT_EQ(result.parts[1].name, "language");
  EXPECT_EQ(result.parts[1].filename, "");
  EXPECT_EQ(result.parts[1].content_type, "");
  EXPECT_EQ(result.parts[1].data, "en");
  EXPECT_EQ(result.parts[2].content_type, "audio/x-wav");
  EXPECT_EQ(result.parts[2].data, kWavBytes);
  // The views point into the body, not into copies.
  EXPECT_GE(result.parts[0].data.data(), body.data());
  EXPECT_LE(result.parts[2].data.data() + result.parts[2].data.size(), body.data() + body.size());
}

TEST(MultipartTest, RequestsBody) {
  // requests.post(url, data={'language': 'en'}, files={'audio': open('chunk.wav', 'rb')}):
  // a 32-hex boundary, form fields first, and no Content-Type on the file part.
  const std::string content_type = "multipart/form-data; boundary=9568b217da33544c49d06ba2d9f24a8d";
  const std::string body =
      "--9568b217da33544c49d06ba2d9f24a8d\r\n"
      "Content-Disposition: form-data; name=\"language\"\r\n"
      "\r\n"
      "en\r\n"
      "--9568b217da33544c49d06ba2d9f24a8d\r\n"
      "Content-Disposition: form-data; name=\"audio\"; filename=\"chunk.wav\"\r\n"
      "\r\n" +
      kWavBytes +
      "\r\n"
      "--9568b217da33544c49d06ba2d9f24a8d--\r\n";
  const MultipartResult result = parsed(content_type, body);
  ASSERT_EQ(result.parts.size(), 2u);
  const MultipartPart* audio = find_part(result, "audio");
  ASSERT_NE(audio, nullptr);
  EXPECT_EQ(audio->filename, "chunk.wav");
  EXPECT_EQ(audio->content_type, "");
  EXPECT_EQ(audio->data, kWavBytes);
  EXPECT_EQ(find_part(result, "language")->data, "en");
  EXPECT_EQ(find_part(result, "missing"), nullptr);
}

TEST(MultipartTest, BinaryPayloadWithAllByteValuesAndBoundaryLookalikes) {
  std::string payload;
  for (int round = 0; round < 4; ++round) {
    for (int byte = 0; byte < 256; ++byte) payload += static_cast<char>(byte);
  }
  // Near misses of the delimiter "\r\n--B0UND": it must follow CRLF, have both dashes, and
  // end the line (or be followed by "--").
  payload += "B0UND--B0UND\r\nB0UND\r\n-B0UND\r\n--B0UNDX\r\n--B0UND-x\r\n--B0UNDARY--x";
  // A bare LF before the boundary is data in a CRLF body.
  payload += "\n--B0UND\r\n\r\n\r\n";
  const std::string body =
      "--B0UND\r\n"
      "Content-Disposition: form-data; name=\"audio\"; filename=\"a.raw\"\r\n"
      "Content-Type: application/octet-stream\r\n\r\n" +
      payload + "\r\n--B0UND--\r\n";
  const MultipartResult result = parsed("multipart/form-data; boundary=B0UND", body);
  ASSERT_EQ(result.parts.size(), 1u);
  EXPECT_EQ(result.parts[0].data.size(), payload.size());
  EXPECT_EQ(result.parts[0].data, payload);
}

TEST(MultipartTest, PayloadEndingInCrOrLfKeepsIt) {
  const std::string body =
      "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\r\n"
      "--b\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n\n\r\n--b--";
  const MultipartResult result = parsed("multipart/form-data; boundary=b", body);
  ASSERT_EQ(result.parts.size(), 2u);
  EXPECT_EQ(result.parts[0].data, "x\r");
  EXPECT_EQ(result.parts[1].data, "\n");
}

TEST(MultipartTest, QuotedBoundaryAndParameterCase) {
  // RFC 2046 §5.1.1's own example boundary has a space, so it must be quoted.
  const std::string body =
      "--simple boundary\r\n"
      "Content-Disposition: form-data; name=\"a\"\r\n\r\n"
      "1\r\n"
      "--simple boundary--\r\n";
  EXPECT_EQ(parsed("multipart/form-data; boundary=\"simple boundary\"", body).parts.at(0).data,
            "1");
  EXPECT_EQ(parsed("Multipart/Form-Data;charset=utf-8 ;  BOUNDARY = \"simple boundary\"", body)
                .parts.size(),
            1u);
}

TEST(MultipartTest, BoundaryOfSeventyCharactersIsTheLimit) {
  const std::string boundary(70, 'z');
  const std::string body = "--" + boundary +
                           "\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--" + boundary +
                           "--";
  EXPECT_EQ(parsed("multipart/form-data; boundary=" + boundary, body).parts.at(0).data, "v");
  const std::string too_long(71, 'z');
  rejected("multipart/form-data; boundary=" + too_long, body, MultipartError::kNoBoundary);
}

TEST(MultipartTest, PreambleAndEpilogueAreIgnored) {
  const std::string body =
      "This is the preamble.  It is to be ignored, though it\r\n"
      "is a handy place for mail composers to include an\r\n"
      "explanatory note to non-MIME compliant readers.\r\n"
      "--simple boundary\r\n"
      "Content-Disposition: form-data; name=\"first\"\r\n"
      "\r\n"
      "This is implicitly typed plain ASCII text.\r\n"
      "It does NOT end with a linebreak.\r\n"
      "--simple boundary\r\n"
      "Content-Disposition: form-data; name=\"second\"\r\n"
      "Content-type: text/plain; charset=us-ascii\r\n"
      "\r\n"
      "This is explicitly typed plain ASCII text.\r\n"
      "It DOES end with a linebreak.\r\n"
      "\r\n"
      "--simple boundary--\r\n"
      "\r\n"
      "This is the epilogue.  It is also to be ignored.\r\n"
      "--simple boundary\r\nContent-Disposition: form-data; name=\"third\"\r\n\r\nx\r\n";
  const MultipartResult result = parsed("multipart/form-data; boundary=\"simple boundary\"", body);
  ASSERT_EQ(result.parts.size(), 2u);
  EXPECT_EQ(result.parts[0].data,
            "This is implicitly typed plain ASCII text.\r\nIt does NOT end with a linebreak.");
  EXPECT_EQ(result.parts[1].content_type, "text/plain; charset=us-ascii");
  EXPECT_EQ(result.parts[1].data,
            "This is explicitly typed plain ASCII text.\r\nIt DOES end with a linebreak.\r\n");
}

TEST(MultipartTest, BareLineFeedsAreTolerated) {
  const std::string body =
      "preamble\n"
      "--b\n"
      "content-disposition: form-data; name=\"audio\"; filename=\"x.wav\"\n"
      "CONTENT-TYPE: audio/wav\n"
      "\n"
      "data\r\nwith CRLF inside\n"
      "--b\n"
      "Content-Disposition: form-data; name=\"text\"\n"
      "\n"
      "t\n"
      "--b--\n";
  const MultipartResult result = parsed("multipart/form-data; boundary=b", body);
  ASSERT_EQ(result.parts.size(), 2u);
  EXPECT_EQ(result.parts[0].content_type, "audio/wav");
  EXPECT_EQ(result.parts[0].data, "data\r\nwith CRLF inside");
  EXPECT_EQ(result.parts[1].data, "t");
}

TEST(MultipartTest, TransportPaddingAfterTheBoundary) {
  const std::string body =
      "--b \t\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--b  \r\n"
      "Content-Disposition: form-data; name=b\r\n\r\n2\r\n--b--  trailing junk";
  const MultipartResult result = parsed("multipart/form-data; boundary=b", body);
  ASSERT_EQ(result.parts.size(), 2u);
  EXPECT_EQ(result.parts[0].data, "1");
  EXPECT_EQ(result.parts[1].data, "2");
}

TEST(MultipartTest, DispositionParameterForms) {
  const std::string body =
      "--b\r\n"
      "content-disposition: FORM-DATA;name=bare;filename=chunk.wav\r\n\r\n1\r\n"
      "--b\r\n"
      "Content-Disposition: form-data; filename*=UTF-8''%e2%82%ac.wav; name=\"ext\"; "
      "filename=\"euro.wav\"\r\n\r\n2\r\n"
      "--b\r\n"
      "Content-Disposition: form-data; NAME=\"semi;colon\"; FileName=\"say \\\"hi\\\".wav\"\r\n"
      "\r\n3\r\n"
      "--b\r\n"
      "Content-Disposition: form-data; name*=utf-8''only-extended; filename*=x\r\n\r\n4\r\n"
      "--b\r\n"
      "Content-Disposition: form-data;\r\n"
      " name=\"folded\";\r\n"
      "\tfilename=\"f.wav\"\r\n"
      "X-Other: 1\r\n"
      " continued\r\n"
      "\r\n5\r\n"
      "--b--\r\n";
  const MultipartResult result = parsed("multipart/form-data; boundary=b", body);
  ASSERT_EQ(result.parts.size(), 4u);
  EXPECT_EQ(result.parts[0].name, "bare");
  EXPECT_EQ(result.parts[0].filename, "chunk.wav");
  EXPECT_EQ(result.parts[1].name, "ext");
  EXPECT_EQ(result.parts[1].filename, "euro.wav");
  EXPECT_EQ(result.parts[2].name, "semi;colon");
  EXPECT_EQ(result.parts[2].filename, "say \"hi\".wav");
  // Part 4 had only extended parameters, so no name: skipped.
  EXPECT_EQ(result.parts[3].name, "folded");
  EXPECT_EQ(result.parts[3].filename, "f.wav");
  EXPECT_EQ(result.parts[3].data, "5");
}

TEST(MultipartTest, PartsWithoutANameAreSkipped) {
  const std::string body =
      "--b\r\n\r\nno headers\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nno disposition\r\n"
      "--b\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nnot form-data\r\n"
      "--b\r\nContent-Disposition: form-data; filename=\"x\"\r\n\r\nno name\r\n"
      "--b\r\n\r\n"
      "--b\r\nContent-Disposition: form-data; name=\"kept\"\r\n\r\nyes\r\n"
      "--b--\r\n";
  const MultipartResult result = parsed("multipart/form-data; boundary=b", body);
  ASSERT_EQ(result.parts.size(), 1u);
  EXPECT_EQ(result.parts[0].name, "kept");
  EXPECT_EQ(result.parts[0].data, "yes");
}

TEST(MultipartTest, EmptyParts) {
  const std::string body =
      "--b\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"empty.wav\"\r\n"
      "Content-Type: audio/x-wav\r\n\r\n\r\n"
      "--b\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n\r\n"
      "--b--\r\n";
  const MultipartResult result = parsed("multipart/form-data; boundary=b", body);
  ASSERT_EQ(result.parts.size(), 2u);
  EXPECT_EQ(result.parts[0].filename, "empty.wav");
  EXPECT_TRUE(result.parts[0].data.empty());
  EXPECT_TRUE(result.parts[1].data.empty());
}

TEST(MultipartTest, BodyWithOnlyTheCloseDelimiterHasNoParts) {
  EXPECT_THAT(parsed("multipart/form-data; boundary=b", "--b--\r\n").parts, IsEmpty());
  EXPECT_THAT(parsed("multipart/form-data; boundary=b", "preamble\r\n--b--").parts, IsEmpty());
}

TEST(MultipartTest, ManyParts) {
  std::string body;
  for (int i = 0; i < 32; ++i) {
    body += "--b\r\nContent-Disposition: form-data; name=\"f" + std::to_string(i) + "\"\r\n\r\n" +
            std::to_string(i * i) + "\r\n";
  }
  body += "--b--\r\n";
  const MultipartResult result = parsed("multipart/form-data; boundary=b", body);
  ASSERT_EQ(result.parts.size(), 32u);
  EXPECT_EQ(result.parts[31].name, "f31");
  EXPECT_EQ(result.parts[31].data, "961");
  EXPECT_EQ(find_part(result, "f7")->data, "49");

  const MultipartResult too_many =
      rejected("multipart/form-data; boundary=b", body, MultipartError::kTooManyParts, 31);
  EXPECT_THAT(too_many.message, HasSubstr("more than 31 parts"));
  // Nameless parts count too: they cost the same work.
  rejected("multipart/form-data; boundary=b", "--b\r\n\r\n--b\r\n\r\n--b\r\n\r\n--b--",
           MultipartError::kTooManyParts, 2);
}

TEST(MultipartTest, RepeatedNamesAreKeptAndFindPartTakesTheFirst) {
  const std::string body =
      "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
      "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n2\r\n--b--";
  const MultipartResult result = parsed("multipart/form-data; boundary=b", body);
  ASSERT_EQ(result.parts.size(), 2u);
  EXPECT_EQ(find_part(result, "a")->data, "1");
}

TEST(MultipartTest, WrongContentType) {
  const std::string body = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--b--";
  rejected("application/x-www-form-urlencoded", body, MultipartError::kNotMultipart);
  rejected("multipart/mixed; boundary=b", body, MultipartError::kNotMultipart);
  rejected("audio/x-wav", body, MultipartError::kNotMultipart);
  rejected("", body, MultipartError::kNotMultipart);
  rejected("multipart/form-data-x; boundary=b", body, MultipartError::kNotMultipart);
}

TEST(MultipartTest, MissingOrInvalidBoundary) {
  const std::string body = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--b--";
  const MultipartResult none = rejected("multipart/form-data", body, MultipartError::kNoBoundary);
  EXPECT_THAT(none.message, HasSubstr("no boundary"));
  rejected("multipart/form-data; charset=utf-8", body, MultipartError::kNoBoundary);
  rejected("multipart/form-data; boundary=", body, MultipartError::kNoBoundary);
  rejected("multipart/form-data; boundary=\"\"", body, MultipartError::kNoBoundary);
  rejected("multipart/form-data; boundary=\"b", body, MultipartError::kNoBoundary);
  rejected("multipart/form-data; boundary=\"b \"", body, MultipartError::kNoBoundary);
  rejected("multipart/form-data; boundary=\"b\r\n\"", body, MultipartError::kNoBoundary);
}

TEST(MultipartTest, MissingCloseDelimiter) {
  const std::string content_type = "multipart/form-data; boundary=b";
  const std::string start = "--b\r\nContent-Disposition: form-data; name=\"audio\"\r\n\r\n";
  const MultipartResult truncated =
      rejected(content_type, start + "half of the audio", MultipartError::kMalformed);
  EXPECT_THAT(truncated.message, HasSubstr("part 1"));
  rejected(content_type, start + "x\r\n--b\r\n", MultipartError::kMalformed);
  rejected(content_type, start + "x\r\n--b", MultipartError::kMalformed);
  rejected(content_type, start + "x\r\n--bb--", MultipartError::kMalformed);
  rejected(content_type, start + "x\r\n--b-", MultipartError::kMalformed);
}

TEST(MultipartTest, NoDelimiterAtAll) {
  const MultipartResult result = rejected("multipart/form-data; boundary=b",
                                          "just some bytes\r\n-b\r\n", MultipartError::kMalformed);
  EXPECT_THAT(result.message, HasSubstr("no boundary delimiter"));
  rejected("multipart/form-data; boundary=b", "", MultipartError::kMalformed);
  rejected("multipart/form-data; boundary=b", "--bX\r\n", MultipartError::kMalformed);
}

TEST(MultipartTest, MalformedPartHeaders) {
  const std::string content_type = "multipart/form-data; boundary=b";
  const MultipartResult no_colon =
      rejected(content_type, "--b\r\nContent-Disposition form-data\r\n\r\n1\r\n--b--",
               MultipartError::kMalformed);
  EXPECT_THAT(no_colon.message, HasSubstr("':'"));
  rejected(content_type, "--b\r\nContent-Disposition: form-data; name=a\r\n--b--",
           MultipartError::kMalformed);
  rejected(content_type, "--b\r\n continuation: first\r\n\r\n1\r\n--b--",
           MultipartError::kMalformed);
  const MultipartResult unterminated =
      rejected(content_type, "--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\n1\r\n--b--",
               MultipartError::kMalformed);
  EXPECT_THAT(unterminated.message, HasSubstr("quoted"));
  // The error of a later part discards the earlier good ones.
  rejected(content_type,
           "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--b\r\nbad\r\n\r\n2\r\n--b--",
           MultipartError::kMalformed);
}

TEST(MultipartTest, ErrorsHaveDescriptions) {
  EXPECT_EQ(to_string(MultipartError::kNotMultipart), "not multipart/form-data");
  EXPECT_EQ(to_string(MultipartError::kNoBoundary), "missing or invalid boundary");
  EXPECT_EQ(to_string(MultipartError::kMalformed), "malformed multipart body");
  EXPECT_EQ(to_string(MultipartError::kTooManyParts), "too many parts");
}

}  // namespace
}  // namespace voxgate::net

// Reading TwiML the way Twilio's call engine does, for `voxgate sim`: a <Response> document
// becomes a list of verbs the simulated call then executes in order (twilio-protocol.md §1.5,
// §1.6, §2). Only the verbs and attributes the simulator acts on are kept; any other well-formed
// verb is kept as OtherVerb so a newer server does not break the simulator.
//
// Contract:
// - Pure function, thread-safe, no I/O.
// - XML entities (&amp; &lt; &gt; &quot; &apos; and numeric references) are decoded.
// - Bad input never throws: malformed XML, a root other than <Response>, a <Stream> without
//   `url`, a <Redirect> without a URL or a <Connect> holding nothing we know give
//   TwimlDocument::error (one sentence, not quoting the document). Only std::bad_alloc escapes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace voxgate::sim {

// <Connect [action method]><Stream url statusCallback><Parameter name value/>…</Stream></Connect>
struct ConnectVerb {
  std::string stream_url;
  std::string status_callback;  // "" when absent
  std::vector<std::pair<std::string, std::string>> parameters;  // in document order
  std::string action;           // <Connect action>, "" when absent
  std::string method = "POST";  // <Connect method>
};
struct RedirectVerb {
  std::string url;
  std::string method = "POST";
};
struct PlayVerb {
  std::string url;
};
struct SayVerb {
  std::string text;
};
struct PauseVerb {
  int length_s = 1;
};
struct RecordVerb {
  std::string action;  // "" when absent
  std::string method = "POST";
  int timeout_s = 5;   // seconds of silence that end the recording (Twilio's default)
  bool trim_silence = true;  // trim="trim-silence", Twilio's default; "do-not-trim" keeps it
};
struct HangupVerb {};
struct DialVerb {
  std::string number;  // the text of <Dial> or of its <Number> noun
};
// A well-formed verb the simulator does not act on (e.g. <Gather>), by element name.
struct OtherVerb {
  std::string name;
};

using TwimlVerb = std::variant<ConnectVerb, RedirectVerb, PlayVerb, SayVerb, PauseVerb, RecordVerb,
                               HangupVerb, DialVerb, OtherVerb>;

struct TwimlDocument {
  std::vector<TwimlVerb> verbs;
  std::string error;  // empty on success
  bool ok() const { return error.empty(); }
};

TwimlDocument read_twiml(std::string_view xml);

}  // namespace voxgate::sim

// TwiML through Boost.PropertyTree's XML reader (rapidxml underneath), which decodes the
// predefined and numeric entities; attributes sit under "<xmlattr>", comments under
// "<xmlcomment>".
#include "sim/twiml_reader.hpp"

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>

#include <cctype>
#include <sstream>

namespace voxgate::sim {
namespace {

namespace pt = boost::property_tree;

std::string attribute(const pt::ptree& node, const char* name, std::string fallback = {}) {
  return node.get<std::string>(pt::ptree::path_type(std::string("<xmlattr>.") + name, '.'),
                               std::move(fallback));
}

std::string trimmed(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

// rapidxml keeps an undefined entity (`&bogus;`) or a bare `&` as text; XML forbids both, and a
// server that sends them has an escaping bug the simulator should report.
bool entities_well_formed(std::string_view xml) {
  for (std::size_t at = xml.find('&'); at != std::string_view::npos; at = xml.find('&', at + 1)) {
    const std::string_view rest = xml.substr(at + 1);
    const std::size_t end = rest.find(';');
    if (end == std::string_view::npos || end == 0) return false;
    const std::string_view name = rest.substr(0, end);
    if (name == "amp" || name == "lt" || name == "gt" || name == "quot" || name == "apos") continue;
    if (name.size() < 2 || name[0] != '#') return false;
    const bool hex = name[1] == 'x';
    const std::string_view digits = name.substr(hex ? 2 : 1);
    if (digits.empty()) return false;
    for (const char c : digits) {
      if (!(hex ? std::isxdigit(static_cast<unsigned char>(c))
                : std::isdigit(static_cast<unsigned char>(c)))) {
        return false;
      }
    }
  }
  return true;
}

bool is_markup(const std::string& name) { return name == "<xmlattr>" || name == "<xmlcomment>"; }

// One <Connect>: its <Stream> noun (the only one we simulate) and its attributes.
std::optional<ConnectVerb> read_connect(const pt::ptree& node, std::string& error) {
  ConnectVerb connect;
  connect.action = attribute(node, "action");
  connect.method = attribute(node, "method", "POST");
  bool have_stream = false;
  for (const auto& [name, child] : node) {
    if (name != "Stream") continue;
    if (have_stream) {
      error = "<Connect> holds more than one <Stream>";
      return std::nullopt;
    }
    have_stream = true;
    connect.stream_url = trimmed(attribute(child, "url"));
    if (connect.stream_url.empty()) {
      error = "<Stream> has no url";
      return std::nullopt;
    }
    connect.status_callback = attribute(child, "statusCallback");
    for (const auto& [pname, parameter] : child) {
      if (pname != "Parameter") continue;
      const std::string key = attribute(parameter, "name");
      if (key.empty()) {
        error = "<Parameter> has no name";
        return std::nullopt;
      }
      connect.parameters.emplace_back(key, attribute(parameter, "value"));
    }
  }
  if (!have_stream) {
    error = "<Connect> holds no <Stream>";
    return std::nullopt;
  }
  return connect;
}

}  // namespace

TwimlDocument read_twiml(std::string_view xml) {
  TwimlDocument document;
  if (!entities_well_formed(xml)) {
    document.error = "TwiML has an undefined entity or a bare '&'";
    return document;
  }
  pt::ptree tree;
  try {
    std::istringstream in{std::string(xml)};
    pt::read_xml(in, tree);
  } catch (const pt::xml_parser_error& e) {
    document.error = "TwiML is not well-formed XML (line " + std::to_string(e.line()) + ")";
    return document;
  }
  const pt::ptree* response = nullptr;
  for (const auto& [name, child] : tree) {
    if (is_markup(name)) continue;
    if (name != "Response" || response != nullptr) {
      document.error = "TwiML root element is not a single <Response>";
      return document;
    }
    response = &child;
  }
  if (response == nullptr) {
    document.error = "TwiML has no <Response>";
    return document;
  }
  for (const auto& [name, node] : *response) {
    if (is_markup(name)) continue;
    if (name == "Connect") {
      auto connect = read_connect(node, document.error);
      if (!connect) return {{}, document.error};
      document.verbs.emplace_back(std::move(*connect));
    } else if (name == "Redirect") {
      RedirectVerb redirect{trimmed(node.data()), attribute(node, "method", "POST")};
      if (redirect.url.empty()) return {{}, "<Redirect> has no URL"};
      document.verbs.emplace_back(std::move(redirect));
    } else if (name == "Play") {
      document.verbs.emplace_back(PlayVerb{trimmed(node.data())});
    } else if (name == "Say") {
      document.verbs.emplace_back(SayVerb{trimmed(node.data())});
    } else if (name == "Pause") {
      PauseVerb pause;
      const std::string length = attribute(node, "length", "1");
      try {
        pause.length_s = std::stoi(length);
      } catch (const std::exception&) {
        return {{}, "<Pause> length is not a number"};
      }
      if (pause.length_s < 0 || pause.length_s > 600) return {{}, "<Pause> length out of range"};
      document.verbs.emplace_back(pause);
    } else if (name == "Record") {
      RecordVerb record{attribute(node, "action"), attribute(node, "method", "POST")};
      try {
        record.timeout_s = std::stoi(attribute(node, "timeout", "5"));
      } catch (const std::exception&) {
        return {{}, "<Record> timeout is not a number"};
      }
      if (record.timeout_s < 0 || record.timeout_s > 600) return {{}, "<Record> timeout out of range"};
      record.trim_silence = attribute(node, "trim", "trim-silence") != "do-not-trim";
      document.verbs.emplace_back(std::move(record));
    } else if (name == "Hangup") {
      document.verbs.emplace_back(HangupVerb{});
    } else if (name == "Dial") {
      std::string number = trimmed(node.data());
      if (number.empty()) number = trimmed(node.get<std::string>("Number", ""));
      document.verbs.emplace_back(DialVerb{std::move(number)});
    } else {
      document.verbs.emplace_back(OtherVerb{name});
    }
  }
  return document;
}

}  // namespace voxgate::sim

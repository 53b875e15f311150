#include "sim/report.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "twilio/twiml.hpp"

namespace voxgate::sim {

namespace json = boost::json;

namespace {

std::string ms(const Percentiles& p) {
  if (p.count == 0) return "-";
  return fmt::format("p50 {:.0f}  p95 {:.0f}  p99 {:.0f}  max {:.0f} ms  (n={})", p.p50, p.p95,
                     p.p99, p.max, p.count);
}

json::object percentiles_json(const Percentiles& p) {
  return {{"count", p.count}, {"p50", p.p50}, {"p95", p.p95}, {"p99", p.p99}, {"max", p.max}};
}

json::value optional_number(const std::optional<double>& value) {
  return value ? json::value(*value) : json::value(nullptr);
}

// Colours per event kind on the timeline; anything else is grey.
std::string_view colour_of(std::string_view kind) {
  if (kind == "speech_start" || kind == "speech_end") return "#1f77b4";
  if (kind == "reply_start" || kind == "reply_end") return "#2ca02c";
  if (kind == "clear") return "#d62728";
  if (kind == "dtmf") return "#9467bd";
  if (kind == "error") return "#d62728";
  return "#7f7f7f";
}

std::vector<double> all_turn_latencies(const std::vector<CallResult>& calls) {
  std::vector<double> out;
  for (const auto& call : calls) {
    for (const auto& turn : call.turns) {
      if (turn.latency_ms) out.push_back(*turn.latency_ms);
    }
  }
  return out;
}

std::string timeline_svg(const CallResult& call, double span_ms) {
  constexpr double kWidth = 640, kHeight = 28;
  const double scale = span_ms > 0 ? (kWidth - 10) / span_ms : 1;
  std::string svg = fmt::format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" role="img" aria-label="timeline of {}">)",
      kWidth, kHeight, twilio::xml_escape(call.call_sid));
  svg += fmt::format(R"(<rect x="0" y="12" width="{:.1f}" height="4" fill="#ddd"/>)",
                     std::min(kWidth, call.duration_ms * scale + 2));
  // Speech and reply spans as bars, single events as ticks.
  // x of an open span; negative when none is open (x is never negative). Not std::optional:
  // GCC 12 warns falsely (-Wmaybe-uninitialized) about optional<double> here.
  double speech_from = -1, reply_from = -1;
  for (const auto& event : call.events) {
    const double x = 5 + event.at_ms * scale;
    if (event.kind == "speech_start") speech_from = x;
    if (event.kind == "reply_start") reply_from = x;
    if (event.kind == "speech_end" && speech_from >= 0) {
      svg += fmt::format(R"(<rect x="{:.1f}" y="4" width="{:.1f}" height="8" fill="#1f77b4"><title>caller speaks</title></rect>)",
                         speech_from, std::max(1.0, x - speech_from));
      speech_from = -1;
    } else if (event.kind == "reply_end" && reply_from >= 0) {
      svg += fmt::format(R"(<rect x="{:.1f}" y="16" width="{:.1f}" height="8" fill="#2ca02c"><title>agent speaks</title></rect>)",
                         reply_from, std::max(1.0, x - reply_from));
      reply_from = -1;
    } else if (event.kind != "speech_start" && event.kind != "reply_start") {
      svg += fmt::format(R"(<line x1="{0:.1f}" x2="{0:.1f}" y1="2" y2="26" stroke="{1}" stroke-width="1.5"><title>{2} {3} at {4:.0f} ms</title></line>)",
                         x, colour_of(event.kind), twilio::xml_escape(event.kind),
                         twilio::xml_escape(event.detail), event.at_ms);
    }
  }
  return svg + "</svg>";
}

}  // namespace

std::string summary_table(const RunSummary& s) {
  std::string out;
  out += fmt::format("calls            {} ({} ok, {} failed) in {:.1f} s\n", s.calls, s.succeeded,
                     s.failed, s.wall_s);
  out += fmt::format("turn latency     {}\n", ms(s.turn_latency_ms));
  out += fmt::format("time to greeting {}\n", ms(s.time_to_greeting_ms));
  out += fmt::format("barge-in → clear {}\n", ms(s.barge_in_ms));
  if (s.answer_ms.count > 0) out += fmt::format("process-voice    {}\n", ms(s.answer_ms));
  if (s.fallbacks > 0) {
    out += fmt::format("fallbacks        {} streaming call(s) carried on in recording mode\n",
                       s.fallbacks);
  }
  out += fmt::format("reply frames     {} received, {} late (underruns)\n", s.frames, s.underruns);
  for (const auto& [error, count] : s.errors) {
    out += fmt::format("error ×{:<5}     {}\n", count, error);
  }
  return out;
}

std::string to_json(const RunSummary& s, const std::vector<CallResult>& calls) {
  json::array errors;
  for (const auto& [error, count] : s.errors) {
    errors.push_back(json::object{{"error", error}, {"count", count}});
  }
  json::object summary{{"calls", s.calls},
                       {"succeeded", s.succeeded},
                       {"failed", s.failed},
                       {"wall_s", s.wall_s},
                       {"turn_latency_ms", percentiles_json(s.turn_latency_ms)},
                       {"time_to_greeting_ms", percentiles_json(s.time_to_greeting_ms)},
                       {"barge_in_ms", percentiles_json(s.barge_in_ms)},
                       {"answer_ms", percentiles_json(s.answer_ms)},
                       {"fallbacks", s.fallbacks},
                       {"frames", s.frames},
                       {"underruns", s.underruns},
                       {"errors", std::move(errors)}};
  json::array call_list;
  for (const auto& call : calls) {
    json::array turns;
    for (const auto& turn : call.turns) {
      turns.push_back(json::object{{"index", turn.index},
                                   {"speech_end_ms", turn.speech_end_ms},
                                   {"latency_ms", optional_number(turn.latency_ms)},
                                   {"barge_in_ms", optional_number(turn.barge_in_ms)},
                                   {"answer_ms", optional_number(turn.answer_ms)}});
    }
    json::array events;
    for (const auto& event : call.events) {
      events.push_back(
          json::object{{"at_ms", event.at_ms}, {"kind", event.kind}, {"detail", event.detail}});
    }
    call_list.push_back(json::object{
        {"call_sid", call.call_sid},
        {"ok", call.ok},
        {"error", call.error},
        {"outcome", call.outcome},
        {"fell_back", call.fell_back},
        {"close_code", call.close_code ? json::value(*call.close_code) : json::value(nullptr)},
        {"close_reason", call.close_reason},
        {"time_to_greeting_ms", optional_number(call.time_to_greeting_ms)},
        {"turns", std::move(turns)},
        {"frames", json::object{{"received", call.frames.frames},
                                {"underruns", call.frames.underruns},
                                {"max_gap_ms", call.frames.max_gap_ms},
                                {"bursts", call.frames.bursts}}},
        {"marks_played", call.marks_played},
        {"marks_cleared", call.marks_cleared},
        {"clears", call.clears},
        {"duration_ms", call.duration_ms},
        {"transcript", call.transcript},
        {"events", std::move(events)}});
  }
  return json::serialize(json::object{{"summary", std::move(summary)}, {"calls", std::move(call_list)}});
}

std::string histogram_svg(const std::vector<double>& values_ms, const std::string& label) {
  constexpr int kBins = 30;
  constexpr double kWidth = 600, kHeight = 160, kBottom = 130;
  std::string svg = fmt::format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" role="img" aria-label="{}">)",
      kWidth, kHeight, twilio::xml_escape(label));
  if (values_ms.empty()) {
    return svg + R"(<text x="10" y="80" font-size="14">no samples</text></svg>)";
  }
  const double top = std::max(1.0, *std::max_element(values_ms.begin(), values_ms.end()));
  std::vector<int> bins(kBins, 0);
  for (const double v : values_ms) {
    const int bin = std::min(kBins - 1, static_cast<int>(v / top * kBins));
    ++bins[static_cast<std::size_t>(std::max(0, bin))];
  }
  const int highest = std::max(1, *std::max_element(bins.begin(), bins.end()));
  const double bar = (kWidth - 20) / kBins;
  for (int i = 0; i < kBins; ++i) {
    const double h = (kBottom - 10) * bins[static_cast<std::size_t>(i)] / highest;
    svg += fmt::format(
        R"(<rect class="bar" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="#4c78a8"><title>{:.0f}–{:.0f} ms: {}</title></rect>)",
        10 + i * bar, kBottom - h, bar - 1, h, top * i / kBins, top * (i + 1) / kBins,
        bins[static_cast<std::size_t>(i)]);
  }
  svg += fmt::format(R"(<line x1="10" x2="{}" y1="{}" y2="{}" stroke="#333"/>)", kWidth - 10,
                     kBottom, kBottom);
  svg += fmt::format(R"(<text x="10" y="150" font-size="12">0 ms</text><text x="{}" y="150" font-size="12" text-anchor="end">{:.0f} ms</text>)",
                     kWidth - 10, top);
  return svg + "</svg>";
}

std::string to_html(const RunSummary& s, const std::vector<CallResult>& calls,
                    const std::string& title) {
  std::string html =
      "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>voxgate sim: " +
      twilio::xml_escape(title) +
      "</title><style>body{font-family:sans-serif;margin:2em;color:#222}"
      "table{border-collapse:collapse}td,th{padding:2px 10px;text-align:left}"
      "tr.failed{color:#b00}.ok{color:#080}h2{margin-top:1.5em}</style></head><body>";
  html += "<h1>voxgate sim: " + twilio::xml_escape(title) + "</h1>";
  html += "<pre id=\"summary\">" + twilio::xml_escape(summary_table(s)) + "</pre>";
  std::vector<double> greetings, barge_ins;
  for (const auto& call : calls) {
    if (call.time_to_greeting_ms) greetings.push_back(*call.time_to_greeting_ms);
    for (const auto& turn : call.turns) {
      if (turn.barge_in_ms) barge_ins.push_back(*turn.barge_in_ms);
    }
  }
  html += "<h2>Turn latency</h2><p>From the caller's last speech frame to the first reply frame.</p>";
  html += histogram_svg(all_turn_latencies(calls), "turn latency histogram");
  html += "<h2>Time to greeting</h2>" + histogram_svg(greetings, "time to greeting histogram");
  html += "<h2>Barge-in reaction</h2><p>From the caller speaking over a reply to the "
          "<code>clear</code>.</p>" +
          histogram_svg(barge_ins, "barge-in histogram");
  double span_ms = 0;
  for (const auto& call : calls) span_ms = std::max(span_ms, call.duration_ms);
  html += "<h2>Calls</h2><table><tr><th>call</th><th>result</th><th>turns</th><th>timeline "
          "(blue: caller, green: agent, red: clear)</th></tr>";
  for (const auto& call : calls) {
    std::string turns;
    for (const auto& turn : call.turns) {
      if (!turns.empty()) turns += ", ";
      turns += turn.latency_ms ? fmt::format("{:.0f} ms", *turn.latency_ms) : "-";
    }
    html += fmt::format("<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        call.ok ? "ok" : "failed", twilio::xml_escape(call.call_sid),
                        call.ok ? "ok" : twilio::xml_escape(call.error), twilio::xml_escape(turns),
                        timeline_svg(call, span_ms));
  }
  return html + "</table></body></html>\n";
}

}  // namespace voxgate::sim

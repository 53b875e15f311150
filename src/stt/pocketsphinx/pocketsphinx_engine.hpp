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
// Context: `open(executor, context)` ignores SttContext::expected_phrases for now. Measured
// on the test set (stt_bench, single pass, telcmn), WER all/espeak/slt/kal/rms:
//   open LM, full dictionary (default)      42.4 / 73.5 / 47.1 / 39.7 / 9.3   RTF 0.23
//   open LM + domain dictionary (option)    33.2 / 70.1 / 30.4 / 27.9 / 4.4   RTF 0.036
// A domain dictionary helps in-domain speech but turns every out-of-domain word into an error
// (engines.md §2: 84-88 % on real out-of-domain speech), so it is only an engine-wide option
// (PocketsphinxOptions::domain_words_path), not per-call biasing. Interpolating the general LM
// with a bigram LM of the expected phrases (phrase_lm.hpp, weight 0.3, full dictionary kept)
// looked right on a bare decoder (`stt_bench --context-weight 0.3 [--leave-one-out]`): slt
// 47.1 -> 17.2 % in context and 48.5 % with the spoken phrase left out of the context, rms
// 9.3 -> 2.0 / 10.8 %, at about twice the CPU (RTF 0.41-0.55). Wired into the streams it did
// not reproduce on a 4-utterance check (slt 30.8 % open, 38.5 % in context, 57.7 % left out),
// so it is not shipped until that difference is understood.
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
};

// Counters for metrics and tests.
struct PocketsphinxStats {
  int decoders_created = 0;
  int decoders_idle = 0;
  std::uint64_t utterances = 0;           // finished with a transcript
  std::uint64_t decoder_waits = 0;        // utterances that had to wait for a free decoder
  std::uint64_t dropped_samples_16k = 0;  // audio dropped while waiting (kMaxPendingAudioS)
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

// STT benchmark: runs the speech test set (scripts/make-speech-testset) through the real
// PocketsphinxEngine as calls would feed it, and prints WER per voice, RTF, the finish wait
// (finish() -> transcript), decoder creation time and RSS. A plain program, not Google
// Benchmark: one run is minutes of decoding and the figures are whole-set statistics.
//
//   stt_bench [--set DIR] [--domain WORDS_FILE] [--two-pass] [--stock-cmn] [--pace X]
//             [--voice V] [--limit N] [--hyp OUT.tsv]
//   stt_bench --cmninit [--set DIR]     measures the telephony CMN start values
//   --cmninit-values a,b,...            tries other start values
//   --context-weight W [--leave-one-out] [--voice V]
//                                       expected-phrase LM interpolated with the general LM
//   --grammar-sweep [--grammar-full-dict] [--voice V]
//                                       open LM + context grammar decoders per voice, the
//                                       arbitration threshold swept in domain and leave-one-out
//   --context [--leave-one-out] [--no-context-grammar] [--max-score-gap G] [--min-support S]
//                                       the engine with SttContext = the set's phrases (minus
//                                       the spoken one, and a fresh stream per utterance, with
//                                       --leave-one-out)
//
// One stream per voice (one "caller" per voice, so the live CMN adapts as in a call), each
// utterance fed in 20 ms chunks (160 samples). --pace X feeds X times faster than real time
// (default 4; 0 = as fast as possible). With pacing the worker keeps up, so the finish wait
// is what a caller waits at the end of a turn; unpaced it includes the queued backlog.
#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <sphinxbase/fe.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "audio/g711.hpp"
#include "audio/resampler.hpp"
#include "speech_set.hpp"
#include "stt/pocketsphinx/context_grammar.hpp"
#include "stt/pocketsphinx/phrase_lm.hpp"
#include "stt/pocketsphinx/pocketsphinx_engine.hpp"
#include "stt/wer.hpp"

namespace {

using voxgate::stt::PocketsphinxEngine;
using voxgate::stt::PocketsphinxOptions;
using voxgate::stt::Transcript;

using Utterance = voxgate::test_support::SpeechUtterance;

std::vector<Utterance> load_set(const std::string& dir) {
  return voxgate::test_support::load_speech_set(dir);
}

double rss_mb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// Mean of the en-us front end's cepstra over every frame its VAD keeps, on the 16 kHz
// (speexdsp q5) upsampled phone audio: the start values of the telephony -cmninit.
int measure_cmninit(const std::vector<Utterance>& set) {
  err_set_logfp(nullptr);
  const PocketsphinxOptions stock;
  cmd_ln_t* config = cmd_ln_init(nullptr, ps_args(), TRUE, "-hmm", stock.model_dir.c_str(), "-lm",
                                 stock.lm_path.c_str(), "-dict", stock.dict_path.c_str(), nullptr);
  ps_decoder_t* ps = ps_init(config);
  if (ps == nullptr) return 1;
  fe_t* fe = ps_get_fe(ps);
  const int n_cep = fe_get_output_size(fe);
  std::vector<double> sum(static_cast<std::size_t>(n_cep), 0.0);
  long frames = 0;
  for (const auto& u : set) {
    const auto pcm_16k = voxgate::audio::resample(u.pcm_8k, 8000, 16000);
    fe_start_utt(fe);
    const std::int16_t* in = pcm_16k.data();
    std::size_t n_in = pcm_16k.size();
    const int32 capacity = static_cast<int32>(n_in / 160 + 10);
    std::vector<mfcc_t> storage(static_cast<std::size_t>(capacity * n_cep));
    std::vector<mfcc_t*> rows(static_cast<std::size_t>(capacity));
    for (int32 i = 0; i < capacity; ++i) rows[static_cast<std::size_t>(i)] = &storage[i * n_cep];
    int32 n_frames = capacity - 1;
    fe_process_frames(fe, &in, &n_in, rows.data(), &n_frames, nullptr);
    int32 n_last = 0;
    fe_end_utt(fe, rows[static_cast<std::size_t>(n_frames)], &n_last);
    n_frames += n_last;
    for (int32 f = 0; f < n_frames; ++f) {
      for (int c = 0; c < n_cep; ++c) sum[static_cast<std::size_t>(c)] += rows[f][c];
    }
    frames += n_frames;
  }
  std::printf("frames %ld\n-cmninit ", frames);
  for (int c = 0; c < n_cep; ++c) {
    std::printf("%s%.2f", c == 0 ? "" : ",", sum[static_cast<std::size_t>(c)] / frames);
  }
  std::printf("\n");
  ps_free(ps);
  cmd_ln_free_r(config);
  return 0;
}

// Experiment behind PocketsphinxOptions::context_lm_weight, on one bare decoder per run: the
// general LM interpolated with a bigram LM of the expected phrases (weight `weight`, the
// engine's phrase_lm_arpa), full dictionary kept, so out-of-domain words stay reachable. With
// `leave_one_out`, each utterance's own phrase is left out of the context: the caller says
// something the dialogue did not expect, in domain words.
int context_experiment(const std::vector<Utterance>& set, const std::string& voice, double weight,
                       bool leave_one_out) {
  err_set_logfp(nullptr);
  const PocketsphinxOptions stock;
  auto engine = PocketsphinxEngine::create(stock);  // makes the model copy
  if (!engine.ok()) return 2;
  cmd_ln_t* config =
      cmd_ln_init(nullptr, ps_args(), TRUE, "-hmm", (*engine)->model_copy_dir().c_str(), "-lm",
                  stock.lm_path.c_str(), "-dict", stock.dict_path.c_str(), "-fwdflat", "no",
                  "-bestpath", "no", nullptr);
  ps_decoder_t* ps = ps_init(config);
  ngram_model_t* general = ps_get_lm(ps, "_default");
  std::vector<std::string> phrases;
  for (const auto& u : set) {
    if (std::find(phrases.begin(), phrases.end(), u.text) == phrases.end()) {
      phrases.push_back(u.text);
    }
  }
  auto use_context = [&](const std::vector<std::string>& context) {
    const std::string path = "/tmp/voxgate-stt-bench-context.arpa";
    std::ofstream(path) << voxgate::stt::phrase_lm_arpa(context);
    ngram_model_t* domain = ngram_model_read(config, path.c_str(), NGRAM_ARPA, ps_get_logmath(ps));
    ngram_model_t* models[2] = {ngram_model_retain(general), domain};
    char general_name[] = "general";
    char domain_name[] = "context";
    char* names[2] = {general_name, domain_name};
    const float32 weights[2] = {static_cast<float32>(1 - weight), static_cast<float32>(weight)};
    ngram_model_t* mix = ngram_model_set_init(config, models, names, weights, 2);
    ps_set_lm(ps, "context", mix);
    ngram_model_free(mix);
    ps_set_search(ps, "context");
  };
  if (!leave_one_out) use_context(phrases);
  voxgate::stt::WerCounter wer;
  double cpu_s = 0, audio_s = 0;
  for (const auto& u : set) {
    if (!voice.empty() && u.voice != voice) continue;
    if (leave_one_out) {
      std::vector<std::string> context;
      for (const auto& p : phrases) {
        if (p != u.text) context.push_back(p);
      }
      use_context(context);
    }
    const auto t0 = std::clock();
    voxgate::audio::Resampler resampler(8000, 16000);
    std::vector<std::int16_t> pcm_16k;
    ps_start_utt(ps);
    for (std::size_t pos = 0; pos < u.pcm_8k.size(); pos += 160) {
      pcm_16k.clear();
      resampler.process(
          std::span(u.pcm_8k).subspan(pos, std::min<std::size_t>(160, u.pcm_8k.size() - pos)),
          pcm_16k);
      ps_process_raw(ps, pcm_16k.data(), pcm_16k.size(), FALSE, FALSE);
    }
    ps_end_utt(ps);
    const char* hyp = ps_get_hyp(ps, nullptr);
    cpu_s += static_cast<double>(std::clock() - t0) / CLOCKS_PER_SEC;
    audio_s += static_cast<double>(u.pcm_8k.size()) / 8000;
    wer.add(u.text, hyp != nullptr ? hyp : "");
  }
  std::printf("context weight %.2f%s voice %s: WER %.1f %% (%zu/%zu), RTF %.3f\n", weight,
              leave_one_out ? " leave-one-out" : "", voice.empty() ? "all" : voice.c_str(),
              wer.wer_percent(), wer.errors(), wer.reference_words(), cpu_s / audio_s);
  ps_free(ps);
  cmd_ln_free_r(config);
  return 0;
}

double wall_ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Experiment behind PocketsphinxOptions::context_grammar and context_grammar_min_support, on
// bare decoders (the engine's configuration): per voice, one open-LM decoder (full
// dictionary, single pass), one grammar decoder with every phrase of the set (in domain) and
// one whose grammar leaves the spoken phrase out (leave-one-out: the caller says something the
// dialogue did not expect, so it must come through the open model). The arbitration
// (choose_transcript) is then scored for a range of thresholds on the same hypotheses.
int grammar_sweep(const std::vector<Utterance>& set, const std::string& voice,
                  bool grammar_full_dict, const std::string& hyp_path) {
  err_set_logfp(nullptr);
  const PocketsphinxOptions stock;
  auto engine = PocketsphinxEngine::create(stock);  // makes the model copy
  if (!engine.ok()) return 2;
  const std::string hmm = (*engine)->model_copy_dir();
  std::vector<std::string> raw_phrases;
  for (const auto& u : set) raw_phrases.push_back(u.text);
  const auto phrases = voxgate::stt::normalize_phrases(raw_phrases);
  std::string dict_path = stock.dict_path;
  if (!grammar_full_dict) {
    std::ifstream full(stock.dict_path);
    dict_path = "/tmp/voxgate-stt-bench-context.dict";
    std::ofstream(dict_path) << voxgate::stt::restricted_dictionary(
        full, voxgate::stt::phrase_words(phrases));
  }
  auto known = [](const std::string&) { return true; };
  struct Hyps {
    const Utterance* u;
    std::string open, in_domain, left_out;
    int score_open = 0, score_in = 0, score_out = 0, frames = 0;
  };
  std::vector<Hyps> hyps;
  double audio_s = 0, open_cpu_s = 0, grammar_cpu_s = 0, grammar_init_ms = 0;
  std::vector<double> open_end_ms, grammar_end_ms;
  std::vector<std::string> voices;
  for (const auto& u : set) {
    if (std::find(voices.begin(), voices.end(), u.voice) == voices.end()) voices.push_back(u.voice);
  }
  auto cpu_s = [] { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; };
  for (const auto& v : voices) {
    if (!voice.empty() && v != voice) continue;
    cmd_ln_t* open_config =
        cmd_ln_init(nullptr, ps_args(), TRUE, "-hmm", hmm.c_str(), "-lm", stock.lm_path.c_str(),
                    "-dict", stock.dict_path.c_str(), "-fwdflat", "no", "-bestpath", "no", nullptr);
    ps_decoder_t* open = ps_init(open_config);
    ps_decoder_t* grammar[2] = {};
    cmd_ln_t* grammar_config[2] = {};
    for (int g = 0; g < 2; ++g) {
      const auto t0 = std::chrono::steady_clock::now();
      grammar_config[g] =
          cmd_ln_init(nullptr, ps_args(), TRUE, "-hmm", hmm.c_str(), "-dict", dict_path.c_str(),
                      "-fwdflat", "no", "-bestpath", "no", nullptr);
      grammar[g] = ps_init(grammar_config[g]);
      grammar_init_ms = wall_ms_since(t0);
    }
    ps_set_jsgf_string(grammar[0], "all", voxgate::stt::context_jsgf(phrases, known).c_str());
    ps_set_search(grammar[0], "all");
    for (std::size_t i = 0; i < phrases.size(); ++i) {
      std::vector<std::string> others;
      for (std::size_t j = 0; j < phrases.size(); ++j) {
        if (j != i) others.push_back(phrases[j]);
      }
      ps_set_jsgf_string(grammar[1], ("without" + std::to_string(i)).c_str(),
                         voxgate::stt::context_jsgf(others, known).c_str());
    }
    for (const auto& u : set) {
      if (u.voice != v) continue;
      const auto spoken = voxgate::stt::normalize_text(u.text);
      const auto it = std::find(phrases.begin(), phrases.end(), spoken);
      ps_set_search(grammar[1], ("without" + std::to_string(it - phrases.begin())).c_str());
      voxgate::audio::Resampler resampler(8000, 16000);
      std::vector<std::int16_t> pcm_16k;
      ps_start_utt(open);
      for (auto* g : grammar) ps_start_utt(g);
      for (std::size_t pos = 0; pos < u.pcm_8k.size(); pos += 160) {
        pcm_16k.clear();
        resampler.process(
            std::span(u.pcm_8k).subspan(pos, std::min<std::size_t>(160, u.pcm_8k.size() - pos)),
            pcm_16k);
        double c0 = cpu_s();
        ps_process_raw(open, pcm_16k.data(), pcm_16k.size(), FALSE, FALSE);
        open_cpu_s += cpu_s() - c0;
        c0 = cpu_s();
        ps_process_raw(grammar[0], pcm_16k.data(), pcm_16k.size(), FALSE, FALSE);
        grammar_cpu_s += cpu_s() - c0;
        ps_process_raw(grammar[1], pcm_16k.data(), pcm_16k.size(), FALSE, FALSE);
      }
      audio_s += static_cast<double>(u.pcm_8k.size()) / 8000;
      Hyps h{&u, {}, {}, {}};
      auto t0 = std::chrono::steady_clock::now();
      ps_end_utt(open);
      const char* hyp = ps_get_hyp(open, &h.score_open);
      open_end_ms.push_back(wall_ms_since(t0));
      h.frames = ps_get_n_frames(open);
      h.open = voxgate::stt::normalize_text(hyp != nullptr ? hyp : "");
      t0 = std::chrono::steady_clock::now();
      ps_end_utt(grammar[0]);
      hyp = ps_get_hyp(grammar[0], &h.score_in);
      grammar_end_ms.push_back(wall_ms_since(t0));
      h.in_domain = voxgate::stt::normalize_text(hyp != nullptr ? hyp : "");
      ps_end_utt(grammar[1]);
      hyp = ps_get_hyp(grammar[1], &h.score_out);
      h.left_out = voxgate::stt::normalize_text(hyp != nullptr ? hyp : "");
      hyps.push_back(std::move(h));
    }
    ps_free(open);
    cmd_ln_free_r(open_config);
    for (int g = 0; g < 2; ++g) {
      ps_free(grammar[g]);
      cmd_ln_free_r(grammar_config[g]);
    }
  }
  if (!hyp_path.empty()) {
    std::ofstream out(hyp_path);
    for (const auto& h : hyps) {
      out << h.u->id << '\t' << h.u->text << '\t' << h.open << '\t' << h.in_domain << '\t'
          << h.left_out << '\t' << h.score_open << '\t' << h.score_in << '\t' << h.score_out << '\t'
          << h.frames << '\n';
    }
  }
  auto score = [&](auto pick) {
    voxgate::stt::WerCounter wer;
    std::size_t exact = 0;
    for (const auto& h : hyps) {
      const std::string text = pick(h);
      wer.add(h.u->text, text);
      if (text == voxgate::stt::normalize_text(h.u->text)) ++exact;
    }
    char line[96];
    std::snprintf(line, sizeof line, "%5.1f %% (sent. %3zu/%zu)", wer.wer_percent(), exact,
                  hyps.size());
    return std::string(line);
  };
  std::printf("%zu utterances, voice %s, grammar dictionary %s\n", hyps.size(),
              voice.empty() ? "all" : voice.c_str(), grammar_full_dict ? "full" : "phrase words");
  std::printf("open LM only:             %s\n",
              score([](const Hyps& h) { return h.open; }).c_str());
  std::printf("grammar only, in domain:  %s\n",
              score([](const Hyps& h) { return h.in_domain; }).c_str());
  std::printf("grammar only, left out:   %s\n",
              score([](const Hyps& h) { return h.left_out; }).c_str());
  auto pick = [](const Hyps& h, bool in_domain, voxgate::stt::ArbitrationRule rule) {
    const voxgate::stt::DecodedPath open{h.open, h.score_open};
    const voxgate::stt::DecodedPath grammar{in_domain ? h.in_domain : h.left_out,
                                            in_domain ? h.score_in : h.score_out};
    return voxgate::stt::choose_transcript(open, grammar, h.frames, rule);
  };
  auto row = [&](const char* label, voxgate::stt::ArbitrationRule rule) {
    std::printf("  %-22s %s   %s\n", label,
                score([&](const Hyps& h) { return pick(h, true, rule); }).c_str(),
                score([&](const Hyps& h) { return pick(h, false, rule); }).c_str());
  };
  constexpr double kNoGap = 1e12;
  std::printf("rule                     in domain                 left out\n");
  for (int tenths = 1; tenths <= 10; ++tenths) {
    const std::string label = "support >= " + std::to_string(tenths / 10.0).substr(0, 3);
    row(label.c_str(), {kNoGap, tenths / 10.0});
  }
  for (int gap = 0; gap >= -20; gap -= 2) {
    const std::string label = "score gap <= " + std::to_string(gap);
    row(label.c_str(), {static_cast<double>(gap), 0});
  }
  for (int gap = -8; gap >= -14; gap -= 2) {
    const std::string label = "gap <= " + std::to_string(gap) + ", sup >= 0.2";
    row(label.c_str(), {static_cast<double>(gap), 0.2});
  }
  std::printf(
      "RTF open %.3f, grammar %.3f; end (ps_end_utt+ps_get_hyp) open p50 %.1f max %.1f "
      "ms, grammar p50 %.1f max %.1f ms; grammar decoder init %.0f ms\n",
      open_cpu_s / audio_s, grammar_cpu_s / audio_s, percentile(open_end_ms, 0.5),
      percentile(open_end_ms, 1.0), percentile(grammar_end_ms, 0.5),
      percentile(grammar_end_ms, 1.0), grammar_init_ms);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string set_dir = VOXGATE_DEFAULT_SPEECH_SET_DIR;
  std::string only_voice;
  std::string hyp_path;
  double pace = 4;
  std::size_t limit = 0;  // 0: every utterance
  bool cmninit = false;
  double context_weight = 0;
  bool leave_one_out = false;
  bool sweep = false;
  bool grammar_full_dict = false;
  bool with_context = false;
  PocketsphinxOptions options;
  options.max_decoders = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--set")
      set_dir = next();
    else if (arg == "--domain")
      options.domain_words_path = next();
    else if (arg == "--two-pass")
      options.single_pass = false;
    else if (arg == "--stock-cmn")
      options.telephony_cmninit = false;
    else if (arg == "--pace")
      pace = std::stod(next());
    else if (arg == "--voice")
      only_voice = next();
    else if (arg == "--context-weight")
      context_weight = std::stod(next());
    else if (arg == "--leave-one-out")
      leave_one_out = true;
    else if (arg == "--grammar-sweep")
      sweep = true;
    else if (arg == "--grammar-full-dict")
      grammar_full_dict = true;
    else if (arg == "--context")
      with_context = true;
    else if (arg == "--no-context-grammar")
      options.context_grammar = false;
    else if (arg == "--min-support")
      options.context_grammar_min_support = std::stod(next());
    else if (arg == "--max-score-gap")
      options.context_grammar_max_score_gap = std::stod(next());
    else if (arg == "--limit")
      limit = std::stoul(next());
    else if (arg == "--hyp")
      hyp_path = next();
    else if (arg == "--cmninit")
      cmninit = true;
    else if (arg == "--cmninit-values") {
      std::istringstream values(next());
      for (std::string v; std::getline(values, v, ',');) options.cmninit.push_back(std::stof(v));
    } else {
      std::cerr << "unknown argument " << arg << "\n";
      return 2;
    }
  }
  auto set = load_set(set_dir);
  if (set.empty()) {
    std::cerr << "no utterances in " << set_dir << "\n";
    return 2;
  }
  if (cmninit) return measure_cmninit(set);
  if (context_weight > 0) return context_experiment(set, only_voice, context_weight, leave_one_out);
  if (sweep) return grammar_sweep(set, only_voice, grammar_full_dict, hyp_path);

  const double rss_before = rss_mb();
  const auto t0 = std::chrono::steady_clock::now();
  auto engine = PocketsphinxEngine::create(options);
  const double create_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!engine.ok()) {
    std::cerr << engine.error().message << "\n";
    return 2;
  }
  const double rss_after = rss_mb();
  std::printf("engine create %.0f ms (decoder %.0f ms), RSS +%.1f MB\n", create_ms,
              (*engine)->stats().last_decoder_create_ms, rss_after - rss_before);

  std::vector<std::string> phrases;
  for (const auto& u : set) {
    if (std::find(phrases.begin(), phrases.end(), u.text) == phrases.end()) {
      phrases.push_back(u.text);
    }
  }
  boost::asio::io_context io;
  std::map<std::string, std::unique_ptr<voxgate::stt::SttStream>> streams;
  std::map<std::string, voxgate::stt::WerCounter> wer;
  voxgate::stt::WerCounter all;
  std::vector<double> waits_ms;
  double audio_s = 0, decode_ms = 0;
  std::ofstream hyp_out;
  if (!hyp_path.empty()) hyp_out.open(hyp_path);
  constexpr std::size_t kChunk = 160;  // 20 ms at 8 kHz, as Twilio sends it
  for (const auto& u : set) {
    if (!only_voice.empty() && u.voice != only_voice) continue;
    if (limit != 0 && all.utterances() == limit) break;
    // --context: the set's phrases as the call's expected phrases, one stream per voice;
    // with --leave-one-out a fresh stream per utterance whose context lacks the spoken phrase.
    voxgate::stt::SttContext context;
    if (with_context) {
      for (const auto& p : phrases) {
        if (!leave_one_out || p != u.text) context.expected_phrases.push_back(p);
      }
    }
    auto& stream = streams[u.voice];
    if (!stream || (with_context && leave_one_out)) {
      stream = (*engine)->open(io.get_executor(), context);
    }
    stream->start_utterance();
    auto next_at = std::chrono::steady_clock::now();
    for (std::size_t pos = 0; pos < u.pcm_8k.size(); pos += kChunk) {
      const std::size_t n = std::min(kChunk, u.pcm_8k.size() - pos);
      stream->feed(std::span(u.pcm_8k).subspan(pos, n));
      if (pace > 0) {
        next_at += std::chrono::microseconds(static_cast<long>(20000 / pace));
        std::this_thread::sleep_until(next_at);
      }
    }
    bool got = false;
    Transcript transcript;
    stream->finish([&](voxgate::util::Result<Transcript> r) {
      got = true;
      if (r.ok())
        transcript = r.value();
      else
        std::cerr << u.id << ": " << r.error().message << "\n";
    });
    io.restart();
    auto guard = boost::asio::make_work_guard(io);  // run_one() waits for the worker's post
    while (!got) io.run_one();
    wer[u.voice].add(u.text, transcript.text);
    all.add(u.text, transcript.text);
    waits_ms.push_back(transcript.finish_wait_ms);
    audio_s += transcript.audio_s;
    decode_ms += transcript.decode_ms;
    if (hyp_out) {
      hyp_out << u.id << '\t' << transcript.text << '\t' << transcript.finish_wait_ms << '\t'
              << transcript.decode_ms << '\n';
    }
  }
  std::printf("WER all %.1f %% (%zu/%zu words)", all.wer_percent(), all.errors(),
              all.reference_words());
  for (const auto& voice : {"espeak", "slt", "kal", "rms"}) {
    if (wer.count(voice) != 0) std::printf("  %s %.1f", voice, wer[voice].wer_percent());
  }
  std::printf("\nRTF %.3f (decode CPU %.1f s / audio %.1f s)\n", decode_ms / 1000 / audio_s,
              decode_ms / 1000, audio_s);
  double sum = 0;
  for (double w : waits_ms) sum += w;
  std::printf("finish wait (pace %.1fx): mean %.1f p50 %.1f p90 %.1f max %.1f ms\n", pace,
              sum / static_cast<double>(waits_ms.size()), percentile(waits_ms, 0.5),
              percentile(waits_ms, 0.9), percentile(waits_ms, 1.0));
  std::printf("RSS at end %.1f MB\n", rss_mb());
  const auto stats = (*engine)->stats();
  std::printf("context grammar: %d decoders, phrase taken %llu, open kept %llu\n",
              stats.grammar_decoders_created,
              static_cast<unsigned long long>(stats.grammar_accepted),
              static_cast<unsigned long long>(stats.grammar_rejected));
  streams.clear();
  return 0;
}

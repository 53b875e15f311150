// The expected-phrase grammar of a call (SttContext::expected_phrases) and the rule that
// decides between its phrase and the open-LM hypothesis (PocketsphinxOptions::context_grammar).
// Pure functions of their input; safe from any thread. Header-only so that stt_bench measures
// exactly what the engine runs.
#pragma once

#include <algorithm>
#include <cstddef>
#include <istream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "stt/wer.hpp"

namespace voxgate::stt {

// The context's phrases, normalised as by normalize_text, without empty and duplicate phrases,
// sorted: the same set gives the same list (the key of the grammar decoder pool).
inline std::vector<std::string> normalize_phrases(const std::vector<std::string>& phrases) {
  std::set<std::string> unique;
  for (const auto& phrase : phrases) {
    auto text = normalize_text(phrase);
    if (!text.empty()) unique.insert(std::move(text));
  }
  return {unique.begin(), unique.end()};
}

// The words of the phrases (normalised), each once.
inline std::set<std::string> phrase_words(const std::vector<std::string>& phrases) {
  std::set<std::string> words;
  for (const auto& phrase : phrases) {
    for (auto& word : normalize_words(phrase)) words.insert(std::move(word));
  }
  return words;
}

// The entries (all pronunciation variants) of a CMU-format dictionary for `words`; the words
// it has go to `found` when given.
inline std::string restricted_dictionary(std::istream& dict, const std::set<std::string>& words,
                                         std::set<std::string>* found = nullptr) {
  std::string out;
  for (std::string line; std::getline(dict, line);) {
    auto head = line.substr(0, line.find_first_of(" \t"));
    if (const auto paren = head.find('('); paren != std::string::npos) head.resize(paren);
    if (words.count(head) == 0) continue;
    out += line + "\n";
    if (found != nullptr) found->insert(head);
  }
  return out;
}

// A JSGF grammar with one alternative per phrase (normalised phrases, as normalize_phrases
// gives them). Phrases with a word `known` rejects are left out: pocketsphinx refuses a grammar
// with a word missing from the dictionary. Empty when no phrase is left.
template <class Known>
std::string context_jsgf(const std::vector<std::string>& phrases, Known known) {
  std::string alternatives;
  for (const auto& phrase : phrases) {
    const auto words = normalize_words(phrase);
    if (words.empty() || !std::all_of(words.begin(), words.end(), known)) continue;
    if (!alternatives.empty()) alternatives += "\n  | ";
    for (std::size_t i = 0; i < words.size(); ++i) alternatives += (i == 0 ? "" : " ") + words[i];
  }
  if (alternatives.empty()) return {};
  return "#JSGF V1.0;\ngrammar context;\npublic <phrase> = " + alternatives + ";\n";
}

// How much of the grammar phrase the open hypothesis supports: the longest common
// subsequence of their words over the phrase's length (1: every phrase word is in the open
// hypothesis, in order). 0 for an empty phrase.
inline double phrase_support(std::string_view open_hypothesis, std::string_view grammar_phrase) {
  const auto phrase = normalize_words(grammar_phrase);
  const auto open = normalize_words(open_hypothesis);
  if (phrase.empty()) return 0;
  std::vector<std::size_t> row(open.size() + 1, 0);
  for (const auto& word : phrase) {
    std::size_t diagonal = 0;
    for (std::size_t j = 1; j <= open.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = word == open[j - 1] ? diagonal + 1 : std::max(row[j], row[j - 1]);
      diagonal = above;
    }
  }
  return static_cast<double>(row.back()) / static_cast<double>(phrase.size());
}

// The arbitration between the two decoders' best paths for one utterance. `score` is
// ps_get_hyp's path score (pocketsphinx log units; larger is better), `n_frames` the
// utterance's 10 ms frames.
struct DecodedPath {
  std::string text;
  int score = 0;
};

struct ArbitrationRule {
  // The grammar path must score at least this much better per frame than the open-LM path:
  // (open - grammar) / n_frames <= max_score_gap_per_frame. Speech the grammar holds scores
  // far better under it (no n-gram penalties); speech forced onto the nearest phrase does not.
  double max_score_gap_per_frame = -10;
  // And the open hypothesis must contain at least this fraction of the phrase (phrase_support).
  double min_support = 0;
};

// The grammar's phrase when the rule accepts it, else the open hypothesis unchanged.
inline const std::string& choose_transcript(const DecodedPath& open, const DecodedPath& grammar,
                                            int n_frames, const ArbitrationRule& rule) {
  if (grammar.text.empty() || n_frames <= 0) return open.text;
  const double gap = (static_cast<double>(open.score) - static_cast<double>(grammar.score)) /
                     static_cast<double>(n_frames);
  if (gap > rule.max_score_gap_per_frame) return open.text;
  if (rule.min_support > 0 && phrase_support(open.text, grammar.text) < rule.min_support) {
    return open.text;
  }
  return grammar.text;
}

}  // namespace voxgate::stt

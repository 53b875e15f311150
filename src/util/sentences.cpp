// Sentence splitting (util/sentences.hpp): replies are spoken, and streamed agent replies cut,
// sentence by sentence.
//
// A reply is spoken sentence by sentence so the first sentence plays while the rest is made;
// flite's clustergen voices only stream once a whole utterance's parameter track exists, so a
// short first piece keeps the first audio near 10 ms (engines.md §3). The splitter is a small
// rule set for the text a dialogue produces, not a general tokenizer:
// - a sentence ends at a run of . ! ? (plus closing quotes or brackets) followed by whitespace
//   or the end of the text, so "3.5", "10.30" and "example.com" never split;
// - titles ("Dr.", "Mr.", single initials) never end a sentence, dotted or short abbreviations
//   ("e.g.", "a.m.", "etc.") end one only before a capital letter, "No." not before a digit;
// - sentences longer than kLongSentenceChars are also cut at "; " and ": ", then neighbouring
//   pieces are joined back while they fit, so a cut never leaves a two-word fragment alone;
// - whitespace runs become one space, pieces are trimmed, and pieces with nothing to speak
//   (only punctuation) are dropped.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "util/sentences.hpp"

namespace voxgate::util {
namespace {

// About 18 words, 6 s of speech: past this a clustergen voice's first chunk passes ~40 ms
// (engines.md §3: 35-40 ms for an 18-word sentence), worth a cut at a clause boundary.
constexpr std::size_t kLongSentenceChars = 100;

// Words that are followed by a name or a number, never by the end of a sentence.
constexpr std::array<std::string_view, 14> kTitles = {
    "mr", "mrs", "ms", "dr", "prof", "st", "sr", "jr", "mt", "capt", "gen", "sgt", "rev", "hon"};

// Abbreviations that may also end a sentence: split after them only before a capital letter.
constexpr std::array<std::string_view, 11> kAbbreviations = {
    "etc", "vs", "approx", "dept", "est", "inc", "ltd", "co", "corp", "min", "max"};

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool is_terminator(char c) { return c == '.' || c == '!' || c == '?'; }
bool is_closer(char c) { return c == '"' || c == '\'' || c == ')' || c == ']' || c == '}'; }

// Letters, digits and any non-ASCII byte (part of a UTF-8 letter) are worth speaking.
bool is_speakable(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x80 || std::isalnum(u) != 0;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& list, std::string_view word) {
  return std::find(list.begin(), list.end(), word) != list.end();
}

// Whether the '.' at text[dot] (a lone period, followed by whitespace) ends the sentence,
// judged from the word before it and the first character of the next word.
bool period_ends_sentence(std::string_view text, std::size_t dot) {
  std::size_t start = dot;
  while (start > 0 && !is_space(text[start - 1]) && text[start - 1] != '(' &&
         text[start - 1] != '"') {
    --start;
  }
  const std::string_view word = text.substr(start, dot - start);
  if (word.empty()) return true;

  std::size_t next = dot + 1;
  while (next < text.size() && is_space(text[next])) ++next;
  if (next >= text.size()) return true;
  const auto next_char = static_cast<unsigned char>(text[next]);
  const bool next_is_upper = std::isupper(next_char) != 0;

  const std::string word_lower = lower(word);
  if (contains(kTitles, word_lower)) return false;
  // "J. Smith": a single capital is an initial.
  if (word.size() == 1 && std::isupper(static_cast<unsigned char>(word[0])) != 0) return false;
  if (word_lower == "no" && std::isdigit(next_char) != 0) return false;
  // "e.g.", "i.e.", "a.m.", "U.S.": a dot inside the word marks a dotted abbreviation.
  const bool dotted =
      word.find('.') != std::string_view::npos && std::any_of(word.begin(), word.end(), [](char c) {
        return std::isalpha(static_cast<unsigned char>(c));
      });
  if (dotted || contains(kAbbreviations, word_lower)) {
    if (word_lower == "e.g" || word_lower == "i.e" || word_lower == "cf") return false;
    return next_is_upper;
  }
  return true;
}

// Collapses whitespace runs into one space and trims; empty if nothing is worth speaking.
std::string clean(std::string_view piece) {
  std::string out;
  out.reserve(piece.size());
  bool pending_space = false;
  for (const char c : piece) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  if (std::none_of(out.begin(), out.end(), is_speakable)) out.clear();
  return out;
}

// Cuts a long sentence at "; " and ": ", then joins neighbours back while they fit.
void split_long(const std::string& sentence, std::vector<std::string>& out) {
  if (sentence.size() <= kLongSentenceChars) {
    out.push_back(sentence);
    return;
  }
  std::vector<std::string> clauses;
  std::size_t start = 0;
  for (std::size_t i = 0; i < sentence.size(); ++i) {
    const char c = sentence[i];
    if ((c == ';' || c == ':') && (i + 1 == sentence.size() || is_space(sentence[i + 1]))) {
      std::string clause = clean(std::string_view(sentence).substr(start, i + 1 - start));
      if (!clause.empty()) clauses.push_back(std::move(clause));
      start = i + 1;
    }
  }
  std::string tail = clean(std::string_view(sentence).substr(start));
  if (!tail.empty()) clauses.push_back(std::move(tail));

  std::string current;
  for (std::string& clause : clauses) {
    if (current.empty()) {
      current = std::move(clause);
    } else if (current.size() + 1 + clause.size() <= kLongSentenceChars) {
      current += ' ';
      current += clause;
    } else {
      out.push_back(std::move(current));
      current = std::move(clause);
    }
  }
  if (!current.empty()) out.push_back(std::move(current));
}

}  // namespace

std::vector<std::string> split_sentences(std::string_view text) {
  std::vector<std::string> sentences;
  const auto emit = [&sentences](std::string_view piece) {
    std::string sentence = clean(piece);
    if (!sentence.empty()) split_long(sentence, sentences);
  };

  std::size_t start = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!is_terminator(text[i])) {
      ++i;
      continue;
    }
    const std::size_t run_start = i;
    while (i < text.size() && is_terminator(text[i])) ++i;
    const bool lone_period = i - run_start == 1 && text[run_start] == '.';
    while (i < text.size() && is_closer(text[i])) ++i;
    const bool at_boundary = i == text.size() || is_space(text[i]);
    if (!at_boundary) continue;  // "3.5", "example.com", "?!x"
    if (lone_period && !period_ends_sentence(text, run_start)) continue;
    emit(text.substr(start, i - start));
    start = i;
  }
  emit(text.substr(start));
  return sentences;
}

// Re-splitting the whole text on every piece keeps one set of rules for both uses; replies
// are a few hundred characters, so the repeated work is microseconds.
std::vector<std::string> SentenceCutter::add(std::string_view piece) {
  text_.append(piece);
  std::vector<std::string> sentences = split_sentences(text_);
  if (sentences.empty()) return {};
  sentences.pop_back();  // may still grow
  if (sentences.size() <= emitted_) return {};
  std::vector<std::string> completed(sentences.begin() + static_cast<std::ptrdiff_t>(emitted_),
                                     sentences.end());
  emitted_ = sentences.size();
  return completed;
}

std::vector<std::string> SentenceCutter::finish() {
  std::vector<std::string> sentences = split_sentences(text_);
  if (sentences.size() <= emitted_) return {};
  std::vector<std::string> rest(sentences.begin() + static_cast<std::ptrdiff_t>(emitted_),
                                sentences.end());
  emitted_ = sentences.size();
  return rest;
}

}  // namespace voxgate::util

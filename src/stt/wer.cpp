// Word error rate scoring (see wer.hpp).
#include "stt/wer.hpp"

#include <algorithm>
#include <cctype>

namespace voxgate::stt {
namespace {

bool is_filler(std::string_view word) {
  if (word.empty()) return true;
  const char first = word.front();
  const char last = word.back();
  return (first == '<' && last == '>') || (first == '[' && last == ']') ||
         (word.size() >= 2 && word.substr(0, 2) == "++");
}

// Drops a trailing "(2)" pronunciation variant and every character that is not a letter, a
// digit or an apostrophe inside a word.
std::string clean_word(std::string_view raw) {
  if (const auto paren = raw.find('('); paren != std::string_view::npos && paren > 0) {
    raw = raw.substr(0, paren);
  }
  std::string word;
  for (const char c : raw) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      word.push_back(static_cast<char>(std::tolower(u)));
    } else if (c == '\'' && !word.empty()) {
      word.push_back(c);
    }
  }
  while (!word.empty() && word.back() == '\'') word.pop_back();
  if (word == "mr") word = "mister";
  return word;
}

}  // namespace

std::vector<std::string> normalize_words(std::string_view text) {
  std::vector<std::string> words;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
    std::size_t end = pos;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
    const std::string_view raw = text.substr(pos, end - pos);
    pos = end;
    if (raw.empty() || is_filler(raw)) continue;
    std::string word = clean_word(raw);
    if (!word.empty()) words.push_back(std::move(word));
  }
  return words;
}

std::string normalize_text(std::string_view text) {
  std::string joined;
  for (const auto& word : normalize_words(text)) {
    if (!joined.empty()) joined.push_back(' ');
    joined += word;
  }
  return joined;
}

std::size_t word_edit_distance(const std::vector<std::string>& reference,
                               const std::vector<std::string>& hypothesis) {
  // One row of the Levenshtein table at a time.
  std::vector<std::size_t> row(hypothesis.size() + 1);
  for (std::size_t j = 0; j < row.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= reference.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= hypothesis.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t substitute = diagonal + (reference[i - 1] == hypothesis[j - 1] ? 0 : 1);
      row[j] = std::min({substitute, above + 1, row[j - 1] + 1});
      diagonal = above;
    }
  }
  return row.back();
}

void WerCounter::add(std::string_view reference, std::string_view hypothesis) {
  const auto ref = normalize_words(reference);
  errors_ += word_edit_distance(ref, normalize_words(hypothesis));
  reference_words_ += ref.size();
  ++utterances_;
}

double WerCounter::wer_percent() const {
  if (reference_words_ == 0) return 0;
  return 100.0 * static_cast<double>(errors_) / static_cast<double>(reference_words_);
}

}  // namespace voxgate::stt

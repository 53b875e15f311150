// Word error rate: the word-level edit distance between a reference and a hypothesis, the
// measure engines.md §1 uses for every STT figure. Used by the STT tests and stt_bench.
//
// Normalisation (both sides): lowercase; "(2)"-style pronunciation variants, filler tokens
// ("<sil>", "[noise]", "++garbage++") and punctuation other than apostrophes inside words are
// dropped; "mr" becomes "mister" (engines.md §1 scoring). Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace voxgate::stt {

// Splits normalised text into words.
std::vector<std::string> normalize_words(std::string_view text);

// Normalised words joined by single spaces.
std::string normalize_text(std::string_view text);

// Substitutions + deletions + insertions turning `reference` into `hypothesis` (word level).
std::size_t word_edit_distance(const std::vector<std::string>& reference,
                               const std::vector<std::string>& hypothesis);

// Accumulates errors over many utterances; WER = errors / reference words (can exceed 1).
class WerCounter {
 public:
  void add(std::string_view reference, std::string_view hypothesis);
  std::size_t errors() const { return errors_; }
  std::size_t reference_words() const { return reference_words_; }
  std::size_t utterances() const { return utterances_; }
  // In percent; 0 when nothing was added.
  double wer_percent() const;

 private:
  std::size_t errors_ = 0;
  std::size_t reference_words_ = 0;
  std::size_t utterances_ = 0;
};

}  // namespace voxgate::stt

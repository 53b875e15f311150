// The WER scorer: normalisation and word edit distance (stt/wer.hpp).
#include "stt/wer.hpp"

#include <gtest/gtest.h>

namespace voxgate::stt {
namespace {

TEST(Wer, NormalisesCasePunctuationFillersAndVariants) {
  EXPECT_EQ(normalize_text("Hello, Mr. Smith!  <sil> [NOISE] it's read(2) ++um++"),
            "hello mister smith it's read");
  EXPECT_EQ(normalize_text("   "), "");
}

TEST(Wer, CountsSubstitutionsDeletionsInsertions) {
  const auto ref = normalize_words("a b c d");
  EXPECT_EQ(word_edit_distance(ref, normalize_words("a b c d")), 0u);
  EXPECT_EQ(word_edit_distance(ref, normalize_words("a x c d")), 1u);    // substitution
  EXPECT_EQ(word_edit_distance(ref, normalize_words("a c d")), 1u);      // deletion
  EXPECT_EQ(word_edit_distance(ref, normalize_words("a b y c d")), 1u);  // insertion
  EXPECT_EQ(word_edit_distance(ref, {}), 4u);
  EXPECT_EQ(word_edit_distance({}, normalize_words("x y")), 2u);
}

TEST(Wer, AccumulatesOverUtterances) {
  WerCounter counter;
  EXPECT_EQ(counter.wer_percent(), 0);
  counter.add("yes please", "yes please");
  counter.add("good morning", "morning to you");  // "good" deleted, "to you" inserted
  EXPECT_EQ(counter.reference_words(), 4u);
  EXPECT_EQ(counter.errors(), 3u);
  EXPECT_DOUBLE_EQ(counter.wer_percent(), 75.0);
  EXPECT_EQ(counter.utterances(), 2u);
}

}  // namespace
}  // namespace voxgate::stt

// Tests for split_sentences and SentenceCutter (util/sentences.hpp): the sentence boundaries a
// reply is spoken by,
// with the abbreviations, numbers and punctuation runs a dialogue's text contains.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "util/sentences.hpp"

namespace voxgate::util {
namespace {

using Sentences = std::vector<std::string>;

TEST(SplitSentences, SplitsAtTerminators) {
  EXPECT_EQ(split_sentences("Hello there. How are you? Great!"),
            (Sentences{"Hello there.", "How are you?", "Great!"}));
}

TEST(SplitSentences, TextWithoutPunctuationIsOneSentence) {
  EXPECT_EQ(split_sentences("thank you for calling how can I help"),
            (Sentences{"thank you for calling how can I help"}));
}

TEST(SplitSentences, EmptyAndBlankGiveNothing) {
  EXPECT_TRUE(split_sentences("").empty());
  EXPECT_TRUE(split_sentences("   \n\t ").empty());
  EXPECT_TRUE(split_sentences("...").empty());
  EXPECT_TRUE(split_sentences(" . ! ? ").empty());
}

TEST(SplitSentences, TrimsAndCollapsesWhitespace) {
  EXPECT_EQ(split_sentences("  Hello \n  world.\n\n  Bye  now.  "),
            (Sentences{"Hello world.", "Bye now."}));
}

TEST(SplitSentences, DropsPunctuationOnlyPieces) {
  EXPECT_EQ(split_sentences("Yes. . . No!"), (Sentences{"Yes.", "No!"}));
}

TEST(SplitSentences, KeepsTitlesWithTheirNames) {
  EXPECT_EQ(split_sentences("Dr. Smith will see you. Mr. and Mrs. Jones are here."),
            (Sentences{"Dr. Smith will see you.", "Mr. and Mrs. Jones are here."}));
}

TEST(SplitSentences, KeepsDecimalNumbersAndTimes) {
  EXPECT_EQ(split_sentences("The fee is 3.5 dollars. We open at 10.30 today."),
            (Sentences{"The fee is 3.5 dollars.", "We open at 10.30 today."}));
  EXPECT_EQ(split_sentences("Version 2.0.1 is out"), (Sentences{"Version 2.0.1 is out"}));
}

TEST(SplitSentences, KeepsDottedAbbreviationsBeforeLowerCase) {
  EXPECT_EQ(split_sentences("Bring an ID, e.g. a passport. Thanks."),
            (Sentences{"Bring an ID, e.g. a passport.", "Thanks."}));
  EXPECT_EQ(split_sentences("We open at 9 a.m. and close at 5 p.m. every day."),
            (Sentences{"We open at 9 a.m. and close at 5 p.m. every day."}));
}

TEST(SplitSentences, DottedAbbreviationEndsSentenceBeforeCapital) {
  EXPECT_EQ(split_sentences("We open at 9 a.m. Please call then."),
            (Sentences{"We open at 9 a.m.", "Please call then."}));
}

TEST(SplitSentences, EgNeverEndsSentence) {
  EXPECT_EQ(split_sentences("Some cities, e.g. London, are busy."),
            (Sentences{"Some cities, e.g. London, are busy."}));
}

TEST(SplitSentences, InitialsAndNumberAbbreviation) {
  EXPECT_EQ(split_sentences("Ask for John F. Kennedy. It is order No. 42 today."),
            (Sentences{"Ask for John F. Kennedy.", "It is order No. 42 today."}));
  EXPECT_EQ(split_sentences("The answer is no. Goodbye."),
            (Sentences{"The answer is no.", "Goodbye."}));
}

TEST(SplitSentences, DoesNotSplitInsideAddresses) {
  EXPECT_EQ(split_sentences("Visit example.com or mail help@example.org now."),
            (Sentences{"Visit example.com or mail help@example.org now."}));
}

TEST(SplitSentences, TerminatorRunsAndClosingQuotes) {
  EXPECT_EQ(split_sentences("Really?! Yes... \"Fine.\" (Okay.) Done"),
            (Sentences{"Really?!", "Yes...", "\"Fine.\"", "(Okay.)", "Done"}));
}

TEST(SplitSentences, ShortSentencesKeepSemicolonsAndColons) {
  EXPECT_EQ(split_sentences("Note: we close at 5; sorry."),
            (Sentences{"Note: we close at 5; sorry."}));
  EXPECT_EQ(split_sentences("Meet at 10:30 today."), (Sentences{"Meet at 10:30 today."}));
}

TEST(SplitSentences, LongSentencesSplitAtClauses) {
  const std::string text =
      "Your appointment with the dentist is confirmed for Tuesday the fourth at half past nine; "
      "please arrive ten minutes early and bring your insurance card and a photo ID with you.";
  const Sentences sentences = split_sentences(text);
  ASSERT_EQ(sentences.size(), 2u);
  EXPECT_EQ(sentences[0],
            "Your appointment with the dentist is confirmed for Tuesday the fourth at half past "
            "nine;");
  EXPECT_EQ(sentences[1],
            "please arrive ten minutes early and bring your insurance card and a photo ID with "
            "you.");
}

TEST(SplitSentences, LongSentenceJoinsShortClausesBack) {
  // Cut at every clause, the short ones are joined while they fit in a long-sentence budget.
  const std::string text =
      "Options: one; two; three; and then a rather long final clause that carries on for quite "
      "a while longer than the others do.";
  const Sentences sentences = split_sentences(text);
  ASSERT_EQ(sentences.size(), 2u);
  EXPECT_EQ(sentences[0], "Options: one; two; three;");
  std::string joined;
  for (const auto& s : sentences) joined += (joined.empty() ? "" : " ") + s;
  EXPECT_EQ(joined, text);
}

TEST(SplitSentences, NonAsciiTextIsKept) {
  EXPECT_EQ(split_sentences("Café ouvert. Ça va?"), (Sentences{"Café ouvert.", "Ça va?"}));
}

TEST(SentenceCutter, HandsOnEachSentenceOnceTextFollowsIt) {
  SentenceCutter cutter;
  EXPECT_TRUE(cutter.add("Hello").empty());
  EXPECT_TRUE(cutter.add(" there.").empty());  // "there." might become "there.com"
  EXPECT_EQ(cutter.add(" We open"), (Sentences{"Hello there."}));
  EXPECT_TRUE(cutter.add(" at 9 a.m.").empty());
  EXPECT_TRUE(cutter.add(" and close at 5.").empty());  // "a.m. and" is not an end
  EXPECT_EQ(cutter.add(" Bye!"), (Sentences{"We open at 9 a.m. and close at 5."}));
  EXPECT_EQ(cutter.finish(), (Sentences{"Bye!"}));
  EXPECT_TRUE(cutter.finish().empty());
  EXPECT_EQ(cutter.text(), "Hello there. We open at 9 a.m. and close at 5. Bye!");
}

TEST(SentenceCutter, TokenByTokenGivesTheSameSentencesAsTheWholeText) {
  const std::string text =
      "Thanks for calling. Dr. Smith sees patients from 9 to 5, e.g. on Monday. "
      "The fee is 3.5 dollars! Anything else?";
  SentenceCutter cutter;
  Sentences got;
  for (std::size_t i = 0; i < text.size(); i += 3) {
    for (auto& sentence : cutter.add(std::string_view(text).substr(i, 3))) got.push_back(sentence);
  }
  for (auto& sentence : cutter.finish()) got.push_back(sentence);
  EXPECT_EQ(got, split_sentences(text));
}

TEST(SentenceCutter, NothingToSpeakGivesNothing) {
  SentenceCutter cutter;
  EXPECT_TRUE(cutter.add("  ").empty());
  EXPECT_TRUE(cutter.finish().empty());
}

}  // namespace
}  // namespace voxgate::util

// Cutting text into the sentences it is spoken by: a reply is synthesized sentence by
// sentence so the first plays while the rest is made, and an agent streaming tokens hands
// each sentence on as soon as it is complete.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace voxgate::util {

// Splits text into sentences at . ! ? (and ; : for very long ones), keeping abbreviations
// like "Dr." and numbers like "3.5" whole; whitespace runs become one space and pieces with
// nothing to speak are dropped.
std::vector<std::string> split_sentences(std::string_view text);

// Cuts a reply that arrives in pieces (an LLM's tokens) into sentences as soon as each is
// known to be complete: a sentence is complete once text follows it, so the last piece is
// held back until more arrives or `finish` is called.
class SentenceCutter {
 public:
  // Adds text; returns the sentences completed by it, in order.
  std::vector<std::string> add(std::string_view piece);
  // The end of the reply: returns what is left as sentences.
  std::vector<std::string> finish();
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::size_t emitted_ = 0;
};

}  // namespace voxgate::util

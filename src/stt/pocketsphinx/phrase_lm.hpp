// A small bigram language model of the phrases a dialogue expects (SttContext), written as an
// ARPA file, for interpolation with the general en-us LM (PocketsphinxOptions::
// context_lm_weight). Absolute discounting (D = 0.5) backing off to add-one unigrams: with
// only a few dozen phrases there is nothing to tune, and the general LM carries everything
// else. Pure function of its input; safe from any thread.
#pragma once

#include <string>
#include <vector>

namespace voxgate::stt {

// The ARPA text of the phrases' bigram model (words normalised as by normalize_words).
// Phrases without words are skipped; no phrases gives a model of "<s> </s>" only.
std::string phrase_lm_arpa(const std::vector<std::string>& phrases);

}  // namespace voxgate::stt

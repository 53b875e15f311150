// The expected-phrase bigram model (stt/pocketsphinx/phrase_lm.hpp): well-formed ARPA that
// sphinxbase reads, with the phrases' words and bigrams.
#include "stt/pocketsphinx/phrase_lm.hpp"

#include <gtest/gtest.h>
#include <pocketsphinx.h>
#include <sphinxbase/err.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace voxgate::stt {
namespace {

TEST(PhraseLm, WritesCountsUnigramsAndBigrams) {
  const std::string arpa = phrase_lm_arpa({"Yes, please.", "yes", ""});
  EXPECT_NE(arpa.find("ngram 1=4\n"), std::string::npos) << arpa;  // <s> </s> yes please
  EXPECT_NE(arpa.find("ngram 2=4\n"), std::string::npos) << arpa;  // <s>-yes yes-please ...
  EXPECT_NE(arpa.find(" yes please\n"), std::string::npos) << arpa;
  EXPECT_NE(arpa.find(" <s> yes\n"), std::string::npos) << arpa;
  EXPECT_EQ(arpa.rfind("\\end\\\n"), arpa.size() - 6);
}

TEST(PhraseLm, SphinxbaseReadsIt) {
  err_set_logfp(nullptr);
  const std::string path = testing::TempDir() + "phrase_lm_test.arpa";
  std::ofstream(path) << phrase_lm_arpa({"i would like to book an appointment", "yes please"});
  logmath_t* lmath = logmath_init(1.0001, 0, 0);
  ngram_model_t* lm = ngram_model_read(nullptr, path.c_str(), NGRAM_ARPA, lmath);
  ASSERT_NE(lm, nullptr);
  EXPECT_NE(ngram_wid(lm, "appointment"), ngram_unknown_wid(lm));
  ngram_model_free(lm);
  logmath_free(lmath);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace voxgate::stt

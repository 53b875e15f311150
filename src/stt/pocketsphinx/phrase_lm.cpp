// Bigram ARPA model of expected phrases (see phrase_lm.hpp).
#include "stt/pocketsphinx/phrase_lm.hpp"

#include <cmath>
#include <map>
#include <sstream>

#include "stt/wer.hpp"

namespace voxgate::stt {

std::string phrase_lm_arpa(const std::vector<std::string>& phrases) {
  constexpr double kDiscount = 0.5;
  std::map<std::string, double> unigrams = {{"<s>", 0}, {"</s>", 0}};
  std::map<std::string, std::map<std::string, double>> bigrams;
  double total = 0;
  for (const auto& phrase : phrases) {
    auto words = normalize_words(phrase);
    if (words.empty()) continue;
    words.insert(words.begin(), "<s>");
    words.push_back("</s>");
    for (std::size_t i = 0; i < words.size(); ++i) {
      unigrams[words[i]] += 1;
      total += 1;
      if (i > 0) bigrams[words[i - 1]][words[i]] += 1;
    }
  }
  const double vocab = static_cast<double>(unigrams.size());
  auto p_unigram = [&](const std::string& w) { return (unigrams[w] + 1) / (total + vocab); };
  std::size_t n_bigrams = 0;
  for (const auto& [w1, next] : bigrams) n_bigrams += next.size();

  std::ostringstream out;
  out << "\\data\\\nngram 1=" << unigrams.size() << "\n";
  if (n_bigrams > 0) out << "ngram 2=" << n_bigrams << "\n";
  out << "\n\\1-grams:\n";
  for (const auto& [w, count] : unigrams) {
    double backoff = 0;
    if (const auto it = bigrams.find(w); it != bigrams.end()) {
      double seen = 0;
      for (const auto& [w2, c2] : it->second) seen += p_unigram(w2);
      const double left = kDiscount * static_cast<double>(it->second.size()) / count;
      backoff = std::log10(left / (1 - seen));
    }
    const double log_p = w == "<s>" ? -99 : std::log10(p_unigram(w));  // <s> is never predicted
    out << log_p << ' ' << w << ' ' << backoff << '\n';
  }
  if (n_bigrams > 0) {
    out << "\n\\2-grams:\n";
    for (const auto& [w1, next] : bigrams) {
      for (const auto& [w2, count] : next) {
        out << std::log10((count - kDiscount) / unigrams[w1]) << ' ' << w1 << ' ' << w2 << '\n';
      }
    }
  }
  out << "\n\\end\\\n";
  return out.str();
}

}  // namespace voxgate::stt

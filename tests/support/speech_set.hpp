// Reads the speech test set made by scripts/make-speech-testset: index.tsv (id, voice,
// text) and one raw 8 kHz mu-law file per utterance. Shared by the speech tests and the
// benchmarks, so the set's layout is known in one place.
#pragma once

#include <cstdint>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "audio/g711.hpp"

namespace voxgate::test_support {

struct SpeechUtterance {
  std::string id;     // "02-rms"
  std::string voice;  // espeak, slt, kal or rms
  std::string text;   // what is said
  std::string path;   // the .ul file
  std::vector<std::int16_t> pcm_8k;
};

// All utterances of the set in `dir`, in index order; empty when there is no index.
inline std::vector<SpeechUtterance> load_speech_set(const std::string& dir) {
  std::vector<SpeechUtterance> set;
  std::ifstream index(dir + "/index.tsv");
  for (std::string line; std::getline(index, line);) {
    std::istringstream fields(line);
    SpeechUtterance u;
    std::getline(fields, u.id, '\t');
    std::getline(fields, u.voice, '\t');
    std::getline(fields, u.text);
    u.path = dir + "/" + u.id + ".ul";
    std::ifstream file(u.path, std::ios::binary);
    const std::vector<std::uint8_t> mulaw((std::istreambuf_iterator<char>(file)),
                                          std::istreambuf_iterator<char>());
    audio::decode_ulaw(mulaw, u.pcm_8k);
    set.push_back(std::move(u));
  }
  return set;
}

}  // namespace voxgate::test_support

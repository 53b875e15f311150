// Audio files in and WAV files out through libsndfile's virtual I/O (see wav.hpp). Samples are
// read as normalized float whatever the encoding, because libsndfile's float-to-short path
// wraps out-of-range float samples unless clipping is enabled, and averaging stereo in float
// rounds once.
#include "audio/wav.hpp"

#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "audio/frames.hpp"
#include "audio/g711.hpp"
#include "audio/resampler.hpp"

namespace voxgate::audio {
namespace {

// Frames read per sf_readf_float call.
constexpr sf_count_t kReadBlockFrames = 4096;

// libsndfile normalizes integer encodings to [-1, 1) (dividing by 2^(bits-1), mu-law and A-law
// by 0x8000), so this factor gives back 8- and 16-bit PCM and G.711 samples exactly.
constexpr float kFloatToPcm16 = 32768.0F;

// sf_open_virtual reports failure only through sf_error(nullptr), which reads a process-wide
// variable (libsndfile 1.2 sndfile.c `sf_errno`): open and read it under one lock.
std::mutex& open_mutex() {
  static std::mutex mutex;
  return mutex;
}

struct SndfileCloser {
  void operator()(SNDFILE* file) const { sf_close(file); }
};
using SndfilePtr = std::unique_ptr<SNDFILE, SndfileCloser>;

// A file in memory: read-only over the caller's bytes, or growing in a vector for writing.
// libsndfile seeks back to patch the header on close, so writes may land anywhere.
struct MemoryFile {
  std::span<const std::uint8_t> in;
  std::vector<std::uint8_t>* out = nullptr;
  sf_count_t position = 0;

  sf_count_t size() const {
    return static_cast<sf_count_t>(out != nullptr ? out->size() : in.size());
  }
  const std::uint8_t* data() const { return out != nullptr ? out->data() : in.data(); }
};

MemoryFile& as_file(void* user_data) { return *static_cast<MemoryFile*>(user_data); }

sf_count_t vio_get_filelen(void* user_data) { return as_file(user_data).size(); }

sf_count_t vio_seek(sf_count_t offset, int whence, void* user_data) {
  MemoryFile& file = as_file(user_data);
  sf_count_t base = 0;
  switch (whence) {
    case SEEK_SET:
      base = 0;
      break;
    case SEEK_CUR:
      base = file.position;
      break;
    case SEEK_END:
      base = file.size();
      break;
    default:
      return -1;
  }
  if (offset < -base) return -1;  // before the start
  file.position = base + offset;
  return file.position;
}

sf_count_t vio_read(void* ptr, sf_count_t count, void* user_data) {
  MemoryFile& file = as_file(user_data);
  if (count <= 0 || file.position >= file.size()) return 0;
  const sf_count_t n_bytes = std::min(count, file.size() - file.position);
  std::memcpy(ptr, file.data() + file.position, static_cast<std::size_t>(n_bytes));
  file.position += n_bytes;
  return n_bytes;
}

sf_count_t vio_write(const void* ptr, sf_count_t count, void* user_data) {
  MemoryFile& file = as_file(user_data);
  if (file.out == nullptr || count <= 0) return 0;
  const auto end = static_cast<std::size_t>(file.position + count);
  if (end > file.out->size()) file.out->resize(end);
  std::memcpy(file.out->data() + file.position, ptr, static_cast<std::size_t>(count));
  file.position += count;
  return count;
}

sf_count_t vio_tell(void* user_data) { return as_file(user_data).position; }

SF_VIRTUAL_IO memory_io() {
  return SF_VIRTUAL_IO{vio_get_filelen, vio_seek, vio_read, vio_write, vio_tell};
}

DecodeResult failure(AudioError error, std::string message) {
  return DecodeResult{.audio = std::nullopt, .error = error, .message = std::move(message)};
}

std::int16_t to_pcm16(float normalized) {
  const float scaled = std::nearbyint(normalized * kFloatToPcm16);
  if (!(scaled > -32768.0F)) return std::numeric_limits<std::int16_t>::min();  // also NaN
  if (scaled > 32767.0F) return std::numeric_limits<std::int16_t>::max();
  return static_cast<std::int16_t>(scaled);
}

// Writes `info` format through libsndfile into a vector; `write` gets the open handle and
// returns false on a short write.
template <typename WriteFn>
std::vector<std::uint8_t> write_file(SF_INFO info, WriteFn&& write) {
  std::vector<std::uint8_t> bytes;
  MemoryFile file{.in = {}, .out = &bytes, .position = 0};
  SF_VIRTUAL_IO io = memory_io();
  if (sf_format_check(&info) == SF_FALSE) return {};
  SndfilePtr handle;
  {
    const std::lock_guard lock(open_mutex());
    handle.reset(sf_open_virtual(&io, SFM_WRITE, &info, &file));
  }
  if (handle == nullptr) return {};
  if (!write(handle.get())) return {};
  // sf_close writes the final chunk sizes into the header; it must run before `bytes` is used.
  if (sf_close(handle.release()) != 0) return {};
  return bytes;
}

}  // namespace

std::string_view to_string(AudioError error) {
  switch (error) {
    case AudioError::kEmpty:
      return "empty";
    case AudioError::kUnrecognized:
      return "unrecognized";
    case AudioError::kUnsupported:
      return "unsupported";
    case AudioError::kTooLong:
      return "too_long";
  }
  return "unknown";
}

DecodeResult decode_audio(std::span<const std::uint8_t> bytes, double max_duration_s) {
  if (bytes.empty()) return failure(AudioError::kEmpty, "no bytes");

  MemoryFile file{.in = bytes, .out = nullptr, .position = 0};
  SF_VIRTUAL_IO io = memory_io();
  SF_INFO info{};  // format 0: let libsndfile detect it
  SndfilePtr handle;
  int open_error = SF_ERR_NO_ERROR;
  {
    const std::lock_guard lock(open_mutex());
    handle.reset(sf_open_virtual(&io, SFM_READ, &info, &file));
    if (handle == nullptr) open_error = sf_error(nullptr);
  }
  if (handle == nullptr) {
    const AudioError error = open_error == SF_ERR_UNSUPPORTED_ENCODING ? AudioError::kUnsupported
                                                                       : AudioError::kUnrecognized;
    return failure(error, sf_error_number(open_error));
  }

  if (info.channels < 1 || info.channels > 2) {
    return failure(AudioError::kUnsupported,
                   std::to_string(info.channels) + " channels; only mono and stereo are taken");
  }
  if (info.samplerate < Resampler::kMinRateHz || info.samplerate > Resampler::kMaxRateHz) {
    return failure(AudioError::kUnsupported, "sample rate " + std::to_string(info.samplerate) +
                                                 " Hz is outside 1000..192000 Hz");
  }

  const double max_frames = std::max(0.0, std::floor(max_duration_s * info.samplerate));
  const auto too_long = [&] {
    char limit[32];
    std::snprintf(limit, sizeof limit, "%g", max_duration_s);
    return failure(AudioError::kTooLong, std::string("longer than the limit of ") + limit + " s");
  };
  // SF_COUNT_MAX means the length is unknown (some streamed formats); the read loop checks.
  if (info.frames != SF_COUNT_MAX && static_cast<double>(info.frames) > max_frames) {
    return too_long();
  }

  DecodedAudio audio;
  audio.rate_hz = info.samplerate;
  audio.channels = info.channels;
  // The header's frame count is a hint from outside: never reserve more than the input could
  // plausibly hold uncompressed at one byte a sample.
  if (info.frames > 0) {
    audio.pcm.reserve(static_cast<std::size_t>(std::min<sf_count_t>(
        std::min<sf_count_t>(info.frames, static_cast<sf_count_t>(bytes.size())),
        static_cast<sf_count_t>(std::min(max_frames, 1e12)))));
  }

  std::vector<float> block(static_cast<std::size_t>(kReadBlockFrames * info.channels));
  for (;;) {
    const sf_count_t n_frames = sf_readf_float(handle.get(), block.data(), kReadBlockFrames);
    if (n_frames <= 0) break;
    if (static_cast<double>(audio.pcm.size() + static_cast<std::size_t>(n_frames)) > max_frames) {
      return too_long();
    }
    for (sf_count_t i = 0; i < n_frames; ++i) {
      const float sample = info.channels == 1 ? block[static_cast<std::size_t>(i)]
                                              : 0.5F * (block[static_cast<std::size_t>(2 * i)] +
                                                        block[static_cast<std::size_t>(2 * i + 1)]);
      audio.pcm.push_back(to_pcm16(sample));
    }
  }

  if (audio.pcm.empty()) {
    const int read_error = sf_error(handle.get());
    if (read_error != SF_ERR_NO_ERROR) {
      return failure(AudioError::kUnrecognized, sf_error_number(read_error));
    }
    return failure(AudioError::kEmpty, "the file holds no samples");
  }
  audio.duration_s = static_cast<double>(audio.pcm.size()) / audio.rate_hz;
  return DecodeResult{.audio = std::move(audio), .error = std::nullopt, .message = {}};
}

std::vector<std::uint8_t> to_call_format(const DecodedAudio& audio) {
  std::vector<std::uint8_t> mulaw;
  if (audio.rate_hz == kTelephonyRateHz) {
    encode_ulaw(audio.pcm, mulaw);
  } else {
    encode_ulaw(resample(audio.pcm, audio.rate_hz, kTelephonyRateHz), mulaw);
  }
  return mulaw;
}

std::vector<std::uint8_t> encode_wav_ulaw(std::span<const std::uint8_t> mulaw_8k) {
  SF_INFO info{};
  info.samplerate = kTelephonyRateHz;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_ULAW;
  return write_file(info, [&](SNDFILE* handle) {
    // Raw: the codes go into the file as they are, not decoded and re-encoded by libsndfile.
    const auto n_bytes = static_cast<sf_count_t>(mulaw_8k.size());
    return mulaw_8k.empty() || sf_write_raw(handle, mulaw_8k.data(), n_bytes) == n_bytes;
  });
}

std::vector<std::uint8_t> encode_wav_pcm16(std::span<const std::int16_t> pcm, int rate_hz,
                                           int channels) {
  if (channels < 1 || rate_hz < 1) return {};
  SF_INFO info{};
  info.samplerate = rate_hz;
  info.channels = channels;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  return write_file(info, [&](SNDFILE* handle) {
    const auto n_frames = static_cast<sf_count_t>(pcm.size() / static_cast<std::size_t>(channels));
    return n_frames == 0 || sf_writef_short(handle, pcm.data(), n_frames) == n_frames;
  });
}

}  // namespace voxgate::audio

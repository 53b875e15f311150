// Voice activity detection: is there speech in this 20 ms frame of the caller's audio?
//
// Shared engine, per-call detector (HOUSE-STYLE.md): the VadEngine is built once and is
// thread-safe; each call opens its own VadDetector, used only on the call's strand. A
// detector is cheap (microseconds per frame), so it runs inline on the strand, before any
// resampling, on the 8 kHz signal.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace voxgate::vad {

class VadDetector {
 public:
  virtual ~VadDetector() = default;
  // One frame of 8 kHz 16-bit PCM, 20 ms (160 samples). True when it holds speech.
  // Frames of another length are the caller's bug: they return false.
  virtual bool is_speech(std::span<const std::int16_t> frame_8k) = 0;
  // Forget adaptation state (noise floor), as at the start of a call.
  virtual void reset() = 0;
};

class VadEngine {
 public:
  virtual ~VadEngine() = default;
  virtual std::string_view name() const = 0;
  virtual std::unique_ptr<VadDetector> open() const = 0;
};

}  // namespace voxgate::vad

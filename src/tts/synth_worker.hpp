// The synthesis worker and job machinery shared by the local TTS backends (flite, espeak-ng).
//
// engines.md §3: both libraries keep global or voice-level state, so each engine runs them on
// ONE synthesis thread and calls' jobs queue on it. A job is worked one sentence per queue turn
// (the next sentence is queued behind whatever other jobs are waiting), so a second call's
// first sentence waits for at most one sentence of another reply, not for all of it.
//
//   start_job ─▶ worker: sentence 0 ─▶ requeue ─▶ sentence 1 ─▶ … ─▶ last
//                            │                       │                 │
//                            ▼ post                  ▼ post            ▼ post
//   caller's executor:   on_audio(0)            on_audio(1)      on_audio(n-1), on_done
//                        (each handler is skipped once the job is cancelled)
//
// Contract:
// - SynthWorker is thread-safe; start_job() never blocks and never calls back inline.
// - Callbacks run on the job's executor (the call's strand): on_audio in sentence order, then
//   exactly one on_done, unless the job is cancelled or destroyed first, after which none runs.
//   cancel() and the job's destructor must run on that same executor for "none runs after"
//   to hold (each posted handler re-checks the flag there).
// - Sentences not yet started when the job is cancelled are never synthesized; the backend's
//   SentenceFn may also poll the flag to abandon the one in progress.
// - At most max_pending_jobs jobs wait or run at once; more are refused with on_done
//   kUnavailable (counted in refused_jobs()), so a stuck worker cannot grow an unbounded queue.
// - Destroying the worker stops its thread after the sentence in progress; queued jobs are
//   dropped without callbacks. Destroy engines only after their calls are gone.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tts/engine.hpp"
#include "util/result.hpp"

namespace voxgate::tts {

// Makes one sentence's 8 kHz mu-law audio on the worker thread. `cancelled` turns true when
// the job is cancelled; a backend may check it to stop early (the audio is then dropped).
using SentenceFn = std::function<util::Result<std::vector<std::uint8_t>>(
    const std::string& sentence, const std::atomic<bool>& cancelled)>;

class SynthWorker {
 public:
  static constexpr std::size_t kDefaultMaxPendingJobs = 64;

  explicit SynthWorker(SentenceFn sentence_fn,
                       std::size_t max_pending_jobs = kDefaultMaxPendingJobs);
  ~SynthWorker();
  SynthWorker(const SynthWorker&) = delete;
  SynthWorker& operator=(const SynthWorker&) = delete;

  // Splits `text` into sentences and queues the job; see TtsEngine::synthesize.
  std::unique_ptr<TtsJob> start_job(std::string text, boost::asio::any_io_executor executor,
                                    std::function<void(SentenceAudio)> on_audio,
                                    std::function<void(util::Result<Done>)> on_done);

  std::size_t pending_jobs() const { return pending_jobs_->load(); }
  std::size_t refused_jobs() const { return refused_jobs_.load(); }

 private:
  struct JobState;
  void run_step(const std::shared_ptr<JobState>& job);

  SentenceFn sentence_fn_;
  std::size_t max_pending_jobs_;
  std::shared_ptr<std::atomic<std::size_t>> pending_jobs_;
  std::atomic<std::size_t> refused_jobs_{0};
  boost::asio::thread_pool pool_{1};  // last: stopped and joined before the rest goes
};

}  // namespace voxgate::tts

// The one-thread synthesis queue behind the local TTS backends; see synth_worker.hpp.
//
// Cancellation is an atomic flag in state shared by the job handle, the worker and every
// handler posted to the caller's executor. The worker checks it before and after each
// sentence (so unstarted sentences are skipped), and each posted handler checks it again on
// the caller's strand, where cancel() also runs: that second check is what guarantees no
// callback after cancel, whatever the worker was doing at the time.
#include "tts/synth_worker.hpp"

#include <boost/asio/post.hpp>
#include <chrono>
#include <exception>
#include <utility>

namespace voxgate::tts {

namespace asio = boost::asio;

struct SynthWorker::JobState {
  std::atomic<bool> cancelled{false};
  asio::any_io_executor executor;
  std::function<void(SentenceAudio)> on_audio;
  std::function<void(util::Result<Done>)> on_done;
  std::vector<std::string> sentences;
  std::size_t next_sentence = 0;  // touched only on the worker thread
  std::shared_ptr<std::atomic<std::size_t>> pending_jobs;
  bool counted = false;  // whether this job is still counted in pending_jobs

  // Called on the worker when the job will not be worked on again.
  void leave_worker() {
    if (counted) pending_jobs->fetch_sub(1);
    counted = false;
  }
  // A job dropped with the worker's queue still leaves the count.
  ~JobState() { leave_worker(); }

  void post_done(util::Result<Done> result, const std::shared_ptr<JobState>& self) {
    asio::post(executor, [self, result = std::move(result)]() mutable {
      if (self->cancelled.load()) return;
      if (self->on_done) self->on_done(std::move(result));
    });
  }
};

namespace {

class WorkerJob final : public TtsJob {
 public:
  // `cancelled` aliases the job state's flag and keeps the state alive.
  explicit WorkerJob(std::shared_ptr<std::atomic<bool>> cancelled)
      : cancelled_(std::move(cancelled)) {}
  ~WorkerJob() override { cancel(); }
  void cancel() override { cancelled_->store(true); }

 private:
  std::shared_ptr<std::atomic<bool>> cancelled_;
};

}  // namespace

SynthWorker::SynthWorker(SentenceFn sentence_fn, std::size_t max_pending_jobs)
    : sentence_fn_(std::move(sentence_fn)),
      max_pending_jobs_(max_pending_jobs),
      pending_jobs_(std::make_shared<std::atomic<std::size_t>>(0)) {}

SynthWorker::~SynthWorker() {
  // Stop before any member goes: the running sentence uses sentence_fn_.
  pool_.stop();
  pool_.join();
}

std::unique_ptr<TtsJob> SynthWorker::start_job(std::string text, asio::any_io_executor executor,
                                               std::function<void(SentenceAudio)> on_audio,
                                               std::function<void(util::Result<Done>)> on_done) {
  auto job = std::make_shared<JobState>();
  job->executor = std::move(executor);
  job->on_audio = std::move(on_audio);
  job->on_done = std::move(on_done);
  job->pending_jobs = pending_jobs_;
  auto handle =
      std::make_unique<WorkerJob>(std::shared_ptr<std::atomic<bool>>(job, &job->cancelled));

  // Splitting is microseconds of string work (the reply is a few sentences): done here, so
  // empty input is answered without touching the worker.
  job->sentences = split_sentences(text);
  if (job->sentences.empty()) {
    job->post_done(util::Error{util::ErrorCode::kInvalidInput, "tts: no text to speak"}, job);
    return handle;
  }
  if (pending_jobs_->fetch_add(1) >= max_pending_jobs_) {
    pending_jobs_->fetch_sub(1);
    refused_jobs_.fetch_add(1);
    job->post_done(util::Error{util::ErrorCode::kUnavailable, "tts: synthesis queue full"}, job);
    return handle;
  }
  job->counted = true;
  asio::post(pool_, [this, job] { run_step(job); });
  return handle;
}

void SynthWorker::run_step(const std::shared_ptr<JobState>& job) {
  if (job->cancelled.load()) {
    job->leave_worker();
    return;
  }
  const std::size_t index = job->next_sentence++;
  const std::string& sentence = job->sentences[index];

  const auto start = std::chrono::steady_clock::now();
  util::Result<std::vector<std::uint8_t>> audio =
      util::Error{util::ErrorCode::kInternal, "tts: synthesis did not run"};
  try {
    audio = sentence_fn_(sentence, job->cancelled);
  } catch (const std::exception& e) {
    // No exception crosses the engine interface (HOUSE-STYLE.md, Errors): a resampler or
    // allocation failure ends this reply, not the process.
    audio = util::Error{util::ErrorCode::kInternal, std::string("tts: ") + e.what()};
  }
  const double synth_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

  if (job->cancelled.load()) {
    job->leave_worker();
    return;
  }
  if (!audio.ok()) {
    job->leave_worker();
    job->post_done(audio.error(), job);
    return;
  }

  SentenceAudio out{index, sentence, std::move(audio.value()), synth_ms};
  asio::post(job->executor, [job, out = std::move(out)]() mutable {
    if (job->cancelled.load()) return;
    if (job->on_audio) job->on_audio(std::move(out));
  });

  if (job->next_sentence < job->sentences.size()) {
    // Requeued behind other calls' jobs rather than looping here: see synth_worker.hpp.
    asio::post(pool_, [this, job] { run_step(job); });
    return;
  }
  job->leave_worker();
  job->post_done(Done{job->sentences.size()}, job);
}

}  // namespace voxgate::tts

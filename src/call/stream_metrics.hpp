// The Prometheus series of Media Streams, registered once and shared by every stream.
#pragma once

#include "observe/metrics.hpp"

namespace voxgate::call {

struct StreamMetrics {
  explicit StreamMetrics(observe::Registry& registry);

  observe::Gauge& active_streams;
  observe::Counter& streams_total;
  observe::Family<observe::Counter>& streams_refused_total;  // reason
  observe::Family<observe::Counter>& messages_in_total;      // event
  observe::Counter& malformed_messages_total;
  observe::Counter& unknown_fields_total;
  observe::Counter& frames_in_total;
  observe::Counter& bytes_in_total;
  observe::Counter& bad_payloads_total;
  observe::Counter& inbound_dropped_bytes_total;
  observe::Counter& frames_out_total;
  observe::Counter& bytes_out_total;
  observe::Counter& sequence_gaps_total;
  observe::Counter& sequence_reordered_total;
  observe::Counter& late_frames_total;
  observe::Family<observe::Counter>& marks_total;  // fate: sent, played, discarded, unknown
  observe::Counter& clears_total;
  observe::Counter& dtmf_total;
  observe::Histogram& stream_duration_s;
  observe::Histogram& frame_lateness_s;
};

}  // namespace voxgate::call

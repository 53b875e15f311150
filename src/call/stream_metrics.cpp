#include "call/stream_metrics.hpp"

namespace voxgate::call {

StreamMetrics::StreamMetrics(observe::Registry& r)
    : active_streams(r.gauge("voxgate_streams_active", "Media streams open now.").with({})),
      streams_total(r.counter("voxgate_streams_total", "Media streams accepted.").with({})),
      streams_refused_total(r.counter("voxgate_streams_refused_total",
                                      "Media streams closed by policy, by reason.", {"reason"})),
      messages_in_total(r.counter("voxgate_stream_messages_in_total",
                                  "Media Streams messages received, by event.", {"event"})),
      malformed_messages_total(r.counter("voxgate_stream_malformed_messages_total",
                                         "Media Streams messages that did not parse.")
                                   .with({})),
      unknown_fields_total(r.counter("voxgate_stream_unknown_fields_total",
                                     "Fields in Media Streams messages this server ignores.")
                               .with({})),
      frames_in_total(
          r.counter("voxgate_stream_frames_in_total", "Inbound media messages.").with({})),
      bytes_in_total(
          r.counter("voxgate_stream_bytes_in_total", "Inbound mu-law audio bytes.").with({})),
      bad_payloads_total(r.counter("voxgate_stream_bad_payloads_total",
                                   "Inbound media payloads that were not valid base64.")
                             .with({})),
      inbound_dropped_bytes_total(
          r.counter("voxgate_stream_inbound_dropped_bytes_total",
                    "Inbound audio bytes dropped because a call's buffer was full.")
              .with({})),
      frames_out_total(
          r.counter("voxgate_stream_frames_out_total", "Outbound 20 ms media frames.").with({})),
      bytes_out_total(
          r.counter("voxgate_stream_bytes_out_total", "Outbound mu-law audio bytes.").with({})),
      sequence_gaps_total(r.counter("voxgate_stream_sequence_gaps_total",
                                    "Skips forward in Twilio's sequenceNumber.")
                              .with({})),
      sequence_reordered_total(r.counter("voxgate_stream_sequence_reordered_total",
                                         "Messages that arrived after a later sequenceNumber.")
                                   .with({})),
      late_frames_total(r.counter("voxgate_stream_late_frames_total",
                                  "Outbound frames sent more than 5 ms after they were due.")
                            .with({})),
      marks_total(r.counter("voxgate_stream_marks_total",
                            "Marks sent, and echoed by Twilio as played or discarded by clear.",
                            {"fate"})),
      clears_total(r.counter("voxgate_stream_clears_total", "clear messages sent (barge-in).")
                       .with({})),
      dtmf_total(r.counter("voxgate_stream_dtmf_total", "DTMF digits received.").with({})),
      stream_duration_s(r.histogram("voxgate_stream_duration_seconds",
                                    "How long media streams stayed open.", {},
                                    {1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600})
                            .with({})),
      frame_lateness_s(r.histogram("voxgate_stream_frame_lateness_seconds",
                                   "How late outbound frames left compared to their schedule.",
                                   {}, {0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.02,
                                        0.05, 0.1, 0.25})
                           .with({})) {}

}  // namespace voxgate::call

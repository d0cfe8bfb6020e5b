// Statistics: every `statistics.interval.ms` (connection_config::statistics_interval, 0 = off)
// a client hands connection_config::on_statistics one JSON object in the shape of the C client's
// statistics (its STATISTICS.md), so that dashboards and parsers built for it read kwire's
// unchanged. The timer runs on the client's executor (no thread); the JSON is written with
// Boost.JSON from the client's metrics registry (statistics on with no registry configured: the
// client keeps one of its own) and from its state (connections, metadata cache, partitions,
// group). Counters count from the client's start; the `rtt` window covers the last interval.
//
// Fields kwire writes. Field names and meanings are the C client's; a field kwire cannot know
// (or has no instrument for yet) is left out, never written as a constant.
//
// Top level (every client):
//   name ("kwire#consumer-1"), client_id, type ("producer" | "consumer"), ts (steady clock, µs),
//   time (seconds since the epoch), age (µs since the client was made),
//   tx, txbytes, rx, rxbytes      sums over the brokers below (request-total,
//                                 outgoing-byte-total, response-total, incoming-byte-total)
//   metadata_cache_cnt            topics in the metadata cache
// Top level, the consumer's:
//   rxmsgs, rxmsg_bytes           records and bytes handed to the application (records-consumed-
//                                 total, bytes-consumed-total; the record bytes, not the framing)
// Top level, the producer's (filled by the producer through statistics_contributor, see
// observe/statistics.hpp; from the per-client metrics named):
//   msg_cnt (records-queued), msg_size (buffered-bytes), msg_size_max (buffer.memory),
//   txmsgs, txmsg_bytes (sums of record-send-total, byte-total); msg_max is left out (kwire
//   limits buffered bytes, not records)
//
// brokers, keyed "host:port/nodeid" (bootstrap connections: "host:port/bootstrap"):
//   name, nodeid (-1 for bootstrap connections), nodename ("host:port"), source ("configured" |
//   "learned"), state (INIT, DOWN, CONNECT, SSL_HANDSHAKE, APIVERSION_QUERY, AUTH_REQ, REAUTH,
//   UP), waitresp_cnt (requests in flight), outbuf_cnt (requests waiting for the connection),
//   tx, txbytes, rx, rxbytes, connects (connection-attempt-total), disconnects
//   (connection-close-total), rtt {min, max, avg, sum, cnt, stddev, p50, p75, p90, p95, p99,
//   p99_99} over the interval, from request-latency (bucketed within 12.5%; min and max are the
//   bounds of the buckets holding them), toppars {"topic-N": {topic, partition}} for the
//   partitions the metadata cache says it leads.
//
// topics, keyed by name (the metadata cache's topics): topic, partitions keyed by id: partition,
// leader; the consumer adds, for its assigned partitions: desired (true), fetch_state ("active",
// "offset-query", "stopped" when paused), next_offset (the fetch position), app_offset (the
// offset after the last record handed out, -1 before any), committed_offset, hi_offset,
// consumer_lag (hi_offset - max(app_offset, committed_offset), -1 when unknown), fetchq_cnt
// (records fetched, not yet handed out), rxmsgs, rxbytes, msgs (= rxmsgs). The producer's
// (per {client, topic, partition}): txmsgs (record-send-total), txbytes (byte-total), msgq_cnt
// (records in its open and sealed batches), msgs_inflight (in batches sent, not yet answered),
// msgs (txmsgs + msgq_cnt + msgs_inflight).
//
// cgrp (a subscribed consumer): state ("up" when the coordinator is known, else "query-coord"),
// joinstate ("init", "wait-join", "steady"), rebalance_cnt, rebalance_age (ms), assignment_size.
//
// eos (the producer's, when idempotent): idemp_state ("Init", "WaitPID", "Assigned", "DrainBump"),
// producer_id, producer_epoch, epoch_cnt (epoch-bump-total), txn_state when transactional ("Init",
// "WaitPID", "Ready", "InTransaction", "CommittingTransaction", "AbortingTransaction",
// "AbortableError", "FatalError").
//
// Left out (kwire has no counterpart or no instrument yet): replyq and simple_cnt (kwire has no
// reply queue; completions go to the executor), brokers' stateage, outbuf_msg_cnt,
// waitresp_msg_cnt, txerrs, txretries, req_timeouts, rxerrs, rxcorriderrs, rxpartial, req,
// zbuf_grow, buf_grow, wakeups, int_latency, outbuf_latency, throttle, rtt's hdrsize and
// outofrange; topics' metadata_age, batchsize and batchcnt (the producer may add them);
// partitions' unknown, msgq_bytes, xmit_msgq_*, fetchq_size, query_offset, stored_offset,
// eof_offset, lo_offset, rx_ver_drops, next_ack_seq, next_err_seq, acked_msgid;
// cgrp's stateage and rebalance_reason.
#pragma once

#include <functional>
#include <string_view>

namespace kwire::client {

/// Called on the client's executor with one statistics object (valid only during the call).
using statistics_handler = std::function<void(std::string_view json)>;

}  // namespace kwire::client

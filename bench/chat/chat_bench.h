// `tether-bench chat`: a Socket.IO chat load generator in C++ on libuv, for measuring a chat
// server (tether-chat, Node's socket.io, chat-sink) at rates one Node process cannot offer.
//
// chat_options.h: flags; chat_worker.h: one thread's loop, pacing and counters;
// chat_client.h: one client; sio_packets.h: the packets; chat_report.h: what is printed;
// proc_stats.h: the server's CPU and RSS. The main thread starts the workers, waits until every
// client joined or failed, starts the load for all workers at one instant, samples counters and
// /proc at the window's edges, waits (at most 5 s) for the last deliveries and acks, and stops.
#pragma once

namespace bench::chat {

int chatBenchMain(int argc, char** argv);

}  // namespace bench::chat

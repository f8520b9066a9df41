// Wires one tether-chat instance together on a libuv loop: listener -> Engine.IO server ->
// Socket.IO server -> chat or echo app, plus the page routes and signal handling.
//
// Shutdown (SIGTERM/SIGINT): /health turns 503 and new handshakes get 503 at once; existing
// sessions keep working for the drain period (or until none is left), then every session gets
// a proper Engine.IO close (clients reconnect elsewhere), connections are closed and run()
// returns 0.
#pragma once

#include "backend/chat/options.h"

namespace backend::chat {

// Runs until shutdown; returns the process exit code.
int run(Options options);

}  // namespace backend::chat

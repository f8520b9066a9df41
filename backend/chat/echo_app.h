// The protocol conformance app (--app echo), shaped like the reference servers of the
// Engine.IO and Socket.IO protocol repositories' test suites:
//  - Engine.IO level: a session that does not start with a Socket.IO CONNECT gets every
//    message echoed back (text as text, binary as binary);
//  - Socket.IO level, namespace "/": on connect emit "auth" with the handshake auth payload;
//    "message" is answered with "message-back" and the same arguments; "message-with-ack" is
//    acked with the same arguments;
//  - namespace "/custom": on connect emit "auth" too.
#pragma once

#include "backend/socketio/server.h"

namespace backend::chat {

void installEchoApp(socketio::Server& io);

}  // namespace backend::chat

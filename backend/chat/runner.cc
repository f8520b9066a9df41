// The tether-chat instance lifecycle; see runner.h.
#include "backend/chat/runner.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "backend/bus/fleet_bus.h"
#include "backend/chat/chat_app.h"
#include "backend/chat/echo_app.h"
#include "backend/chat/web_routes.h"
#include "backend/engineio/server.h"
#include "backend/http/listener.h"
#include "backend/socketio/server.h"
#include "common/log.h"
#include "common/uv_util.h"

namespace backend::chat {
namespace {

struct Instance {
  uv_loop_t* loop;
  Options options;
  std::unique_ptr<WebRoutes> routes;
  std::unique_ptr<socketio::Server> io;
  std::unique_ptr<engineio::Server> engine;
  std::unique_ptr<bus::FleetBus> bus;  // with --redis
  std::unique_ptr<ChatApp> chat;
  std::unique_ptr<http::Listener> listener;
  uv_signal_t sigterm{};
  uv_signal_t sigint{};
  uv_timer_t drainTimer{};
  uint64_t drainDeadline = 0;
  bool shuttingDown = false;
  bool closed = false;
};

void onDrainTimerCb(uv_timer_t* t);

void finish(Instance& in) {
  if (in.closed) return;
  in.closed = true;
  common::logInfo("shutdown", {{"sessions", in.engine->sessionCount()}});
  in.engine->closeAll("server shutting down");
  // Close frames and close packets were queued; connections finish them (or time out) and
  // the loop ends once every handle is closed.
  in.listener->stop();
  in.io->stop();
  // After closeAll: the presence removals of the closed sockets are queued before goodbye.
  if (in.bus) in.bus->stop();
  // Half a second for the close packets and frames to go out and be answered, then every
  // connection left (idle keep-alive ones included) is closed and the loop ends.
  int rc = uv_timer_start(&in.drainTimer, onDrainTimerCb, 500, 0);
  if (rc < 0) {
    common::logError("timer_start_failed", {{"error", common::uvErr(rc)}});
    http::Connection::closeAll();
    common::closeHandle(&in.drainTimer);
    common::closeHandle(&in.sigterm);
    common::closeHandle(&in.sigint);
  }
}

void onDrainTimerCb(uv_timer_t* t) {
  auto& in = *static_cast<Instance*>(t->data);
  if (in.closed) {
    http::Connection::closeAll();
    http::Connection::stopFlusher();
    common::closeHandle(&in.drainTimer);
    // Signal handlers stay until here so that a repeated SIGTERM during shutdown is ignored
    // instead of killing the process with the default action.
    common::closeHandle(&in.sigterm);
    common::closeHandle(&in.sigint);
    return;
  }
  if (in.engine->sessionCount() == 0 || uv_now(in.loop) >= in.drainDeadline) finish(in);
}

void onSignalCb(uv_signal_t* sig, int signum) {
  auto& in = *static_cast<Instance*>(sig->data);
  if (in.shuttingDown) return;
  in.shuttingDown = true;
  common::logInfo("draining", {{"signal", signum}, {"drain_ms", static_cast<long long>(in.options.drainMs)},
                               {"sessions", in.engine->sessionCount()}});
  in.engine->setDraining(true);
  in.drainDeadline = uv_now(in.loop) + in.options.drainMs;
  int rc = uv_timer_start(&in.drainTimer, onDrainTimerCb, 0, 100);
  if (rc < 0) {
    common::logError("timer_start_failed", {{"error", common::uvErr(rc)}});
    finish(in);
  }
}

std::string defaultId(int port) {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "localhost");
  return std::string(host) + ":" + std::to_string(port);
}

}  // namespace

int run(Options options) {
  common::LogLevel level;
  if (common::parseLogLevel(options.logLevel, level)) common::setLogLevel(level);
  Instance in;
  in.loop = uv_default_loop();
  in.options = options;

  engineio::Options eio;
  eio.path = options.path;
  eio.pingInterval = options.pingIntervalMs;
  eio.pingTimeout = options.pingTimeoutMs;
  eio.maxPayload = options.maxPayload;
  eio.maxConnections = options.maxConnections;
  eio.maxSendQueue = options.maxSendQueue;
  http::Limits limits;
  limits.maxBody = options.maxPayload;
  limits.maxWsMessage = options.maxPayload;
  limits.writeDelayMs = options.writeDelayMs;

  in.io = std::make_unique<socketio::Server>(in.loop, options.connectTimeoutMs);
  // The id may depend on the bound port: routes are created after listening.
  struct LateRoutes : engineio::RouteHandler {
    WebRoutes* target = nullptr;
    void onRequest(http::Connection& c, http::Request& r) override { target->onRequest(c, r); }
  } late;
  in.engine = std::make_unique<engineio::Server>(in.loop, eio, in.io.get(), &late);
  in.listener = std::make_unique<http::Listener>(in.loop, in.engine.get(), limits);
  if (in.listener->start(options.host, options.port) < 0) return 1;
  if (options.id.empty()) options.id = defaultId(in.listener->port());
  in.listener->setServedBy(options.id);
  in.routes = std::make_unique<WebRoutes>(options.id, options.webRoot);
  late.target = in.routes.get();
  if (!options.redisUrl.empty()) {
    std::string error;
    auto target = bus::parseRedisUrl(options.redisUrl, error);
    if (!target) {  // options.cc validated it; kept for callers that build Options by hand
      common::logError("bad_redis_url", {{"error", error}});
      return 1;
    }
    const char* envPassword = std::getenv("TETHER_REDIS_PASSWORD");
    if (!options.redisPassword.empty()) {
      target->password = options.redisPassword;
    } else if (envPassword && *envPassword) {
      target->password = envPassword;
    }
    bus::FleetBus::Options bo;
    bo.target = *target;
    bo.serverId = options.id;
    bo.history = options.history;
    bo.outageQueue = options.outageQueue;
    bo.outageWaitMs = options.outageWaitMs;
    in.bus = std::make_unique<bus::FleetBus>(in.loop, bo);
  }
  if (options.app == "echo") {
    installEchoApp(*in.io);
  } else {
    in.chat = std::make_unique<ChatApp>(*in.io, options.id, in.bus.get());
  }
  if (in.bus && !in.bus->start()) return 1;
  in.routes->attach(in.engine.get(), in.io.get(), in.chat.get(), in.bus.get());
  if (!in.io->start()) return 1;

  for (auto* sig : {&in.sigterm, &in.sigint}) {
    int rc = uv_signal_init(in.loop, sig);
    if (rc == 0) rc = uv_signal_start(sig, onSignalCb, sig == &in.sigterm ? SIGTERM : SIGINT);
    if (rc < 0) {
      common::logError("signal_setup_failed", {{"error", common::uvErr(rc)}});
      return 1;
    }
    sig->data = &in;
  }
  int rc = uv_timer_init(in.loop, &in.drainTimer);
  if (rc < 0) {
    common::logError("timer_init_failed", {{"error", common::uvErr(rc)}});
    return 1;
  }
  in.drainTimer.data = &in;

  common::logInfo("listening", {{"host", options.host}, {"port", in.listener->port()}, {"id", options.id},
                                {"app", options.app}});
  // Machine-readable line for tests and scripts that start us on port 0.
  std::printf("tether-chat listening on %s:%d id=%s\n", options.host.c_str(), in.listener->port(),
              options.id.c_str());
  std::fflush(stdout);

  rc = uv_run(in.loop, UV_RUN_DEFAULT);
  if (rc < 0) common::logError("loop_failed", {{"error", common::uvErr(rc)}});
  // Connections still waiting for a peer's close frame are closed now.
  http::Connection::closeAll();
  http::Connection::stopFlusher();
  uv_run(in.loop, UV_RUN_DEFAULT);
  rc = uv_loop_close(in.loop);
  if (rc < 0) common::logWarn("loop_close_failed", {{"error", common::uvErr(rc)}});
  common::logInfo("stopped");
  return 0;
}

}  // namespace backend::chat

// Page, client library, health and metrics routes; see web_routes.h.
#include "backend/chat/web_routes.h"

#include <fstream>
#include <sstream>

#include "common/log.h"

namespace backend::chat {
namespace {

bool readFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

void replaceAll(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
}

}  // namespace

std::string htmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

WebRoutes::WebRoutes(std::string serverId, const std::string& webRoot) : serverId_(std::move(serverId)) {
  if (!readFile(webRoot + "/index.html", page_)) {
    common::logWarn("page_missing", {{"path", webRoot + "/index.html"}});
    page_ = "<!doctype html><title>tether-chat</title><p>Instance {{SERVER_ID}}</p>";
  }
  replaceAll(page_, "{{SERVER_ID}}", htmlEscape(serverId_));
  std::string js = webRoot + "/node_modules/socket.io-client/dist/socket.io.min.js";
  if (!readFile(js, clientJs_)) {
    common::logWarn("client_library_missing", {{"path", js}, {"hint", "run scripts/install-deps"}});
  }
}

void WebRoutes::onRequest(http::Connection& conn, http::Request& request) {
  std::string_view path = request.path();
  if (request.method != "GET" && request.method != "HEAD") {
    return conn.respond(405, "text/plain", "method not allowed");
  }
  if (path == "/health") {
    bool draining = engine_ && engine_->draining();
    int status = draining ? 503 : 200;
    bool detail = false;
    request.queryParam("detail", &detail);
    if (detail) {
      return conn.respond(status, "application/json", healthDetail(draining));
    }
    bool redisDown = bus_ && !bus_->up();
    return conn.respond(status, "text/plain", draining ? "draining" : redisDown ? "ok (redis down)" : "ok");
  }
  if (path == "/metrics") return conn.respond(200, "text/plain; version=0.0.4", renderMetrics());
  if (path == "/" || path == "/index.html") return conn.respond(200, "text/html; charset=utf-8", page_);
  if (path == "/socket.io.min.js" && !clientJs_.empty()) {
    return conn.respond(200, "application/javascript", clientJs_);
  }
  conn.respond(404, "text/plain", "not found");
}

std::string WebRoutes::healthDetail(bool draining) const {
  nlohmann::json redis = {{"configured", bus_ != nullptr}};
  if (bus_) {
    redis["target"] = bus_->target().display();
    redis["up"] = bus_->up();
    uint64_t since = bus_->downSinceMs();
    redis["down_for_ms"] = since && engine_ ? uv_now(engine_->loop()) - since : 0;
    redis["link_failures"] = bus_->linkFailures();
    redis["history_reads_in_flight"] = bus_->historyReadsInFlight();
    redis["outage_queue"] = bus_->queuedSends();
    redis["rooms_subscribed"] = bus_->roomsSubscribed();
  }
  return nlohmann::json{{"status", draining ? "draining" : "ok"}, {"draining", draining}, {"redis", redis}}.dump();
}

std::string WebRoutes::renderMetrics() const {
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, uint64_t value,
                       const char* labels = "") {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
    out.append(name).append(labels).append(" ").append(std::to_string(value)).append("\n");
  };
  if (engine_) {
    const auto& c = engine_->counters();
    metric("tether_chat_connections", "gauge", "Open Engine.IO sessions.", engine_->sessionCount());
    metric("tether_chat_http_connections", "gauge", "Open TCP connections.", http::Connection::liveCount());
    metric("tether_chat_sessions_opened_total", "counter", "Engine.IO sessions opened.", c.sessionsOpened);
    metric("tether_chat_upgrades_total", "counter", "Polling sessions upgraded to WebSocket.", c.upgrades);
    metric("tether_chat_rejected_total", "counter", "Handshakes refused with 503.",
           c.rejectedMaxConnections + c.rejectedDraining);
    metric("tether_chat_dropped_total", "counter", "Volatile messages dropped for slow consumers.", c.droppedVolatile);
    metric("tether_chat_slow_consumer_disconnects_total", "counter",
           "Clients disconnected for exceeding the send queue cap.", c.slowConsumerDisconnects);
    metric("tether_chat_draining", "gauge", "1 after SIGTERM.", engine_->draining() ? 1 : 0);
  }
  if (io_) {
    auto& c = io_->counters();
    metric("tether_chat_sockets", "gauge", "Connected Socket.IO sockets.", io_->socketCount());
    metric("tether_chat_rooms", "gauge", "Rooms (including per-socket rooms).", io_->roomCount());
    metric("tether_chat_packets_in_total", "counter", "Socket.IO packets received.", c.packetsIn);
    metric("tether_chat_packets_out_total", "counter", "Socket.IO packets sent.", c.packetsOut);
    metric("tether_chat_invalid_packets_total", "counter", "Invalid Socket.IO packets.", c.invalidPackets);
  }
  if (chat_) {
    const auto& c = chat_->counters();
    metric("tether_chat_messages_in_total", "counter", "Chat messages accepted.", c.messagesIn);
    metric("tether_chat_rejected_events_total", "counter", "Chat events answered with an error.", c.rejected);
    const auto& f = chat_->feedCounters();
    metric("tether_chat_messages_out_total", "counter", "Chat message deliveries (live and replayed).", f.deliveries);
    metric("tether_chat_replayed_total", "counter", "Messages replayed from history.", f.replayed);
    metric("tether_chat_gaps_total", "counter", "Gap events sent (history no longer holds the range).", f.gaps);
    metric("tether_chat_commit_errors_total", "counter",
           "Sends answered 'retry' (not committed: unavailable, or the outcome is unknown).", f.commitErrors);
  }
  if (bus_) {
    const auto& b = bus_->counters();
    metric("tether_chat_redis_up", "gauge", "1 while both Redis links are up and subscribed.", bus_->up() ? 1 : 0);
    metric("tether_chat_redis_connects_total", "counter", "Redis connections established (both links).",
           bus_->linkConnects());
    metric("tether_chat_redis_failures_total", "counter", "Redis connections lost or failed (both links).",
           bus_->linkFailures());
    metric("tether_chat_bus_published_total", "counter", "Room messages committed by this instance.", b.published);
    metric("tether_chat_bus_duplicates_total", "counter", "Sends recognised as resends by their cid.", b.duplicates);
    metric("tether_chat_bus_received_total", "counter", "Room messages received from the bus.", b.received);
    metric("tether_chat_bus_malformed_total", "counter", "Bus payloads or history entries that did not parse.",
           b.malformed);
    metric("tether_chat_history_reads_total", "counter", "History reads sent to Redis.", b.historyReads);
    metric("tether_chat_history_reads_coalesced_total", "counter", "History reads answered by one in flight.",
           b.historyCoalesced);
    metric("tether_chat_presence_reads_total", "counter", "Presence reads sent to Redis.", b.presenceReads);
    metric("tether_chat_outage_queue", "gauge", "Sends waiting to be committed (Redis unreachable, or a room's "
           "subscription not confirmed yet).", bus_->queuedSends());
    metric("tether_chat_bus_queued_total", "counter", "Sends that waited in the queue before their commit.", b.queued);
    metric("tether_chat_bus_unavailable_total", "counter",
           "Sends answered 'unavailable': the queue was full or they waited too long; delivered nowhere.",
           b.unavailable);
    metric("tether_chat_bus_rooms_subscribed", "gauge", "Room channels this instance is subscribed to.",
           bus_->roomsSubscribed());
  }
  return out;
}

}  // namespace backend::chat

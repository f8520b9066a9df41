// One browser-like Engine.IO session; see eio_session.h.
#include "bench/affinity/eio_session.h"

#include <utility>

namespace bench::affinity {
namespace {

constexpr int kPoll = 0, kWs = 1;

std::string sidOf(const std::string& body) {
  // 0{"sid":"S",...}
  size_t k = body.find("\"sid\":\"");
  if (body.empty() || body[0] != '0' || k == std::string::npos) return "";
  size_t start = k + 7, end = body.find('"', start);
  return end == std::string::npos ? "" : body.substr(start, end - start);
}

}  // namespace

void storeCookie(std::vector<std::pair<std::string, std::string>>& jar, const std::string& name_value) {
  size_t eq = name_value.find('=');
  if (eq == std::string::npos || eq == 0) return;
  std::string name = name_value.substr(0, eq), value = name_value.substr(eq + 1);
  for (auto& [n, v] : jar) {
    if (n == name) {
      v = value;
      return;
    }
  }
  jar.emplace_back(std::move(name), std::move(value));
}

EioSession::EioSession(uv_loop_t* loop, SessionParams params, DoneCb done)
    : loop_(loop), params_(std::move(params)), done_cb_(std::move(done)) {}

EioSession::~EioSession() {
  if (poll_) poll_->close();
  if (ws_) ws_->close();
}

std::string EioSession::cookieHeader() const {
  if (params_.cookies.empty()) return "";
  std::string h = "Cookie: ";
  for (size_t i = 0; i < params_.cookies.size(); ++i)
    h += (i ? "; " : "") + params_.cookies[i].first + "=" + params_.cookies[i].second;
  return h + "\r\n";
}

std::string EioSession::pollingRequest(const char* method, std::string_view body) const {
  std::string r = std::string(method) + " " + params_.path + "?EIO=4&transport=polling";
  if (!sid_.empty()) r += "&sid=" + sid_;
  r += " HTTP/1.1\r\nHost: " + params_.host + "\r\nAccept: */*\r\n";
  r += std::string(kClientIdHeader) + ": " + params_.client_id + "\r\n";
  r += cookieHeader();
  if (!body.empty() || std::string_view(method) == "POST") {
    r += "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  r += "\r\n";
  r.append(body);
  return r;
}

void EioSession::start() {
  started_ns_ = uv_hrtime();
  poll_ = new HttpClientConn(loop_, *this, kPoll);
  int rc = poll_->connect(params_.source, params_.target);
  if (rc < 0) return fail(std::string("connect: ") + uv_err_name(rc));
  poll_->send(pollingRequest("GET", {}));
}

void EioSession::timeout() {
  if (!done_) fail("timeout");
}

bool EioSession::sameServer(const HttpResponse& r, const char* what, bool polling) {
  bool unknown_sid = r.status == 400 && r.body.find("Session ID unknown") != std::string::npos;
  bool other = !r.served_by.empty() && !out_.server.empty() && r.served_by != out_.server;
  if (unknown_sid || other) {
    out_.broken = true;
    out_.broken_polling = polling;
    out_.error = std::string(what) + " answered by " + (r.served_by.empty() ? "?" : r.served_by) + " (" +
                 std::to_string(r.status) + ")";
    finish();
    return false;
  }
  return true;
}

void EioSession::onResponse(int tag, const HttpResponse& r) {
  if (done_) return;
  if (params_.keep_cookies)
    for (const auto& c : r.set_cookies) storeCookie(params_.cookies, c);
  if (tag == kWs) {  // the 101 (or a refusal) of the upgrade
    if (!sameServer(r, "upgrade", false)) return;
    if (r.status != 101) return fail("upgrade status " + std::to_string(r.status));
    ws_->sendWsText("2probe");
    return;
  }
  switch (step_) {
    case Step::Handshake:
      out_.handshake_us = (uv_hrtime() - started_ns_) / 1000;
      out_.server = r.served_by;
      if (r.status != 200) return fail("handshake status " + std::to_string(r.status));
      sid_ = sidOf(r.body);
      if (sid_.empty()) return fail("handshake without an open packet");
      out_.handshake_ok = true;
      step_ = Step::Connect;
      poll_->send(pollingRequest("POST", "40"));
      return;
    case Step::Connect:
      if (!sameServer(r, "connect POST", true)) return;
      if (r.status != 200) return fail("connect POST status " + std::to_string(r.status));
      step_ = Step::ConnectAnswer;
      poll_->send(pollingRequest("GET", {}));
      return;
    case Step::ConnectAnswer:
      if (!sameServer(r, "poll", true)) return;
      if (r.status != 200 || r.body.compare(0, 2, "40") != 0) return fail("poll: no CONNECT answer");
      startUpgrade();
      return;
    case Step::Upgrade:  // the held poll, released by the probe
      if (!sameServer(r, "held poll", true)) return;
      if (r.status != 200) return fail("held poll status " + std::to_string(r.status));
      held_answered_ = true;
      maybeFinishUpgrade();
      return;
    case Step::Done:
      return;
  }
}

void EioSession::startUpgrade() {
  step_ = Step::Upgrade;
  poll_->send(pollingRequest("GET", {}));  // held until the probe
  ws_started_ns_ = uv_hrtime();
  ws_ = new HttpClientConn(loop_, *this, kWs);
  int rc = ws_->connect(params_.source, params_.target);
  if (rc < 0) return fail(std::string("websocket connect: ") + uv_err_name(rc));
  std::string r = "GET " + params_.path + "?EIO=4&transport=websocket&sid=" + sid_ + " HTTP/1.1\r\nHost: " +
                  params_.host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
                  kClientIdHeader + ": " + params_.client_id + "\r\n";
  ws_->send(r + cookieHeader() + "\r\n");
}

void EioSession::onWsText(int, std::string_view text) {
  if (done_ || probed_) return;
  if (text == "3probe") {
    out_.upgrade_us = (uv_hrtime() - ws_started_ns_) / 1000;
    probed_ = true;
    maybeFinishUpgrade();
  }
}

void EioSession::maybeFinishUpgrade() {
  if (!probed_ || !held_answered_) return;
  ws_->sendWsText("5");
  out_.upgraded = true;
  finish();
}

void EioSession::onConnError(int tag, const char* what, int uv_status) {
  if (done_) return;
  (tag == kPoll ? poll_ : ws_) = nullptr;  // it closes itself
  fail(std::string(tag == kPoll ? "polling connection: " : "websocket: ") + what + " (" + uv_err_name(uv_status) + ")");
}

void EioSession::fail(const std::string& error) {
  if (done_) return;
  out_.failed = true;
  out_.error = error;
  finish();
}

void EioSession::finish() {
  if (done_) return;
  done_ = true;
  step_ = Step::Done;
  out_.cookies = params_.cookies;
  if (poll_) poll_->close();
  if (ws_) ws_->close();
  poll_ = ws_ = nullptr;
  done_cb_(*this, out_);
}

}  // namespace bench::affinity

// H2Stream's response part: the upstream's response (interim ones, the head, the body through the
// data provider, the trailers) and tether's own answers, turned into HEADERS and DATA frames; see
// h2_stream.h. The request part is in h2_stream.cc, the WebSocket tunnel in h2_stream_tunnel.cc.
#include <algorithm>
#include <cassert>
#include <cstring>
#include <string>
#include <vector>

#include "proxy/h2/h2_session.h"
#include "proxy/h2/h2_stream.h"
#include "proxy/http/error_response.h"
#include "proxy/http/rewrite.h"
#include "proxy/http/trailers.h"
#include "proxy/metrics/worker_metrics.h"
#include "proxy/server/generation.h"
#include "proxy/server/session.h"
#include "proxy/server/worker.h"

namespace proxy::h2 {
namespace {

// nghttp2 copies the pairs it is given (no NO_COPY flags), so views are enough.
void appendNv(std::vector<nghttp2_nv>& nv, std::string_view name, std::string_view value) {
  nv.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())), reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())),
                name.size(), value.size(), NGHTTP2_NV_FLAG_NONE});
}

}  // namespace

// The client's response head from the upstream's `head` (framing in `info`), with the route's
// edits, the request id and the affinity headers; the response counts as started.
void H2Stream::startResponse(const http::MessageHead& head, http::DownstreamInfo info, int client_status) {
  const config::Config& cfg = *gen_->config;
  info.edits = {route_->response_headers.remove, std::string_view(rule_lines_).substr(rule_split_)};
  if (!request_id_.empty()) {
    info.request_id_name = cfg.request_id;
    info.request_id = request_id_;
  }
  down_head_.clear();
  down_head_.reserve(512);
  http::writeDownstreamResponseHead(head, info, down_head_);
  if (policy_ && up_) policy_->responseHead(affinity_, head.status, up_->server(), conn_.session().tls_ != nullptr, down_head_);
  response_started_ = true;
  status_ = client_status;
  response_server_ = up_ ? up_->server() : 0;
  runtime_->serverMetrics(response_server_).responses[metrics::statusSlot(head.status)].add();
}

http::HeadAction H2Stream::onResponseHead(http::MessageHead& head) {
  if (head.status == 101 && websocket_) {
    // The handshake succeeded: answered 200 with the tunnel's first bytes (onUpstreamUpgraded).
    startResponse(head, {http::BodyFraming::None, true, false, true}, 200);
    return http::HeadAction::Continue;
  }
  if (head.status >= 100 && head.status < 200) {
    submitInterim(head);  // 100 Continue, 103 Early Hints: relayed before the final response
    return http::HeadAction::NoBody;
  }
  if (head.status == 502 && up_) runtime_->noteFailure(up_->server(), "status_502");
  http::BodyFraming framing = http::responseFraming(head, is_head_, true);
  startResponse(head, {framing == http::BodyFraming::None ? framing : http::BodyFraming::ContentLength, true, false}, head.status);
  bool has_body = framing != http::BodyFraming::None;
  // A handshake whose sid goes out sealed: the head waits for the open packet (its length changes).
  holding_head_ = affinity_.sealing && up_ && has_body;
  if (!holding_head_) submitResponse(down_head_, has_body);
  return http::HeadAction::Continue;
}

void H2Stream::onResponseBody(std::string_view chunk) {
  response_bytes_ += chunk.size();
  if (holding_head_) return holdResponseBody(chunk, false);
  if (affinity_.capturing && up_) policy_->sid()->captureSid(affinity_, chunk, up_->server(), uv_now(conn_.worker().ctx().loop));
  appendResponse(chunk);
}

void H2Stream::holdResponseBody(std::string_view chunk, bool final) {
  uint32_t server = up_ ? up_->server() : UINT32_MAX;
  std::string sealed;
  if (!policy_->sid()->sealOpenPacket(affinity_, chunk, final, server, uv_now(conn_.worker().ctx().loop), sealed)) return;
  holding_head_ = false;
  http::setContentLength(down_head_, sealed.size());
  submitResponse(down_head_, true);
  appendResponse(sealed);
}

void H2Stream::appendResponse(std::string_view chunk) {
  if (closed_ || chunk.empty()) return;
  resp_buf_.append(chunk);
  if (resp_buf_.size() - resp_off_ > kMaxBuffered && up_ && !upstream_paused_) {
    up_->pauseReading();  // resumed when nghttp2 takes the bytes (readResponse)
    upstream_paused_ = true;
  }
  nghttp2_session_resume_data(conn_.ng(), id_);
}

bool H2Stream::onResponseComplete() {
  if (!response_started_) return false;  // an interim response ended
  if (holding_head_) holdResponseBody({}, true);
  response_done_ = true;
  state_ = State::Done;
  if (up_) resp_trailers_.assign(up_->responseTrailers());  // sent after the last DATA
  if (upstream_paused_ && up_) up_->resumeReading();  // it may go back to the pool
  upstream_paused_ = false;
  runtime_->metrics().request_duration.observeNs(uv_hrtime() - start_ns_);
  finishLog(status_, response_server_);
  if (!closed_) nghttp2_session_resume_data(conn_.ng(), id_);
  return true;
}

void H2Stream::onUpstreamReadDone() {
  H2Session::Scope scope(conn_);
  // The upstream connection goes back to the pool once its response is complete; a request
  // body still arriving means it cannot be reused.
  if (response_done_ && up_) releaseUpstream(request_done_ && up_->reusable() && !unacked_);
}

void H2Stream::onUpstreamDrained() {
  H2Session::Scope scope(conn_);
  if (unacked_) {
    consume(unacked_);
    unacked_ = 0;
  }
}

void H2Stream::submitResponse(std::string& http1_head, bool has_body, bool websocket_accepted) {
  if (closed_) return;
  std::vector<Field>& fields = conn_.scratchFields();
  if (!h2ResponseFields(http1_head, fields)) {
    nghttp2_submit_rst_stream(conn_.ng(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
    return;
  }
  if (websocket_accepted) webSocketAccepted(fields);
  std::vector<nghttp2_nv>& nv = conn_.scratchNv();
  for (const Field& f : fields) appendNv(nv, f.name, f.value);
  nghttp2_data_provider provider;
  provider.source.ptr = this;
  provider.read_callback = &H2Stream::readResponseCb;
  int rc = nghttp2_submit_response(conn_.ng(), id_, nv.data(), nv.size(), has_body ? &provider : nullptr);
  if (rc != 0) nghttp2_submit_rst_stream(conn_.ng(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
}

ssize_t H2Stream::readResponseCb(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags, nghttp2_data_source* src, void*) {
  return static_cast<H2Stream*>(src->ptr)->readResponse(buf, length, flags);
}

ssize_t H2Stream::readResponse(uint8_t* buf, size_t length, uint32_t* flags) {
  size_t have = resp_buf_.size() - resp_off_;
  size_t n = std::min(have, length);
  std::memcpy(buf, resp_buf_.data() + resp_off_, n);
  resp_off_ += n;
  if (resp_off_ == resp_buf_.size()) {
    resp_buf_.clear();
    resp_off_ = 0;
  }
  if (upstream_paused_ && resp_buf_.size() - resp_off_ <= kMaxBuffered / 2) {
    upstream_paused_ = false;
    if (up_) up_->resumeReading();
  }
  if (resp_buf_.empty() && response_done_) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!resp_trailers_.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;  // the trailing HEADERS ends the stream
      submitTrailers();
    }
    return static_cast<ssize_t>(n);
  }
  if (n == 0) return NGHTTP2_ERR_DEFERRED;
  return static_cast<ssize_t>(n);
}

// The upstream's trailer fields as a HEADERS frame with END_STREAM; called from the data
// provider as it reports the end of the body (nghttp2 allows submitting the trailer there).
void H2Stream::submitTrailers() {
  std::vector<nghttp2_nv>& nv = conn_.scratchNv();
  http::forEachTrailer(resp_trailers_, [&nv](std::string_view name, std::string_view value) { appendNv(nv, name, value); });
  // A failure ends the stream instead of leaving it open.
  if (nghttp2_submit_trailer(conn_.ng(), id_, nv.data(), nv.size()) != 0)
    nghttp2_submit_rst_stream(conn_.ng(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
}

// An interim response (1xx but 101) as a HEADERS frame without END_STREAM, written as the
// HTTP/1.1 session writes it for its clients.
void H2Stream::submitInterim(const http::MessageHead& head) {
  if (closed_ || response_started_) return;
  std::string interim;
  http::writeDownstreamResponseHead(head, {http::BodyFraming::None, true, false}, interim);
  std::vector<Field>& fields = conn_.scratchFields();
  if (!h2ResponseFields(interim, fields)) return;
  std::vector<nghttp2_nv>& nv = conn_.scratchNv();
  for (const Field& f : fields)
    if (f.name != "content-length") appendNv(nv, f.name, f.value);
  if (nghttp2_submit_headers(conn_.ng(), NGHTTP2_FLAG_NONE, id_, nullptr, nv.data(), nv.size(), nullptr) < 0)
    nghttp2_submit_rst_stream(conn_.ng(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
}

void H2Stream::onResponseSent() {
  if (!request_done_ && !closed_) nghttp2_submit_rst_stream(conn_.ng(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_NO_ERROR);
}

// tether's own answer (404, 413, 429, 431, 502, 503, 504...).
void H2Stream::respondLocal(int status) {
  releaseUpstream(false);
  dropRequestBody();
  state_ = State::Done;
  if (closed_) return;
  std::string_view r = http::errorResponse(status, false);
  std::string with_id;
  if (!request_id_.empty() && gen_) {
    http::withHeader(r, gen_->config->request_id, request_id_, with_id);
    r = with_id;
  }
  size_t head_end = r.find("\r\n\r\n");
  assert(head_end != std::string_view::npos);
  std::string head(r.substr(0, head_end + 4));
  resp_buf_.assign(r.substr(head_end + 4));
  if (is_head_) resp_buf_.clear();
  resp_off_ = 0;
  response_done_ = true;
  response_bytes_ = resp_buf_.size();
  status_ = status;
  metrics::WorkerMetrics& m = *conn_.worker().ctx().metrics;
  if (!runtime_) {
    m.unrouted_responses[metrics::statusSlot(status)].add();
    finishLog(status, UINT32_MAX);
  } else {
    runtime_->noneMetrics().responses[metrics::statusSlot(status)].add();
    runtime_->metrics().request_duration.observeNs(uv_hrtime() - start_ns_);
    finishLog(status, static_cast<uint32_t>(runtime_->serverCount()));
  }
  submitResponse(head, !resp_buf_.empty());
}

}  // namespace proxy::h2

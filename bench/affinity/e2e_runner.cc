// One strategy's sessions with churn; see e2e_runner.h.
#include "bench/affinity/e2e_runner.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>

#include "bench/affinity/processes.h"

namespace bench::affinity {

TrafficRun::TrafficRun(const E2eParams& params, const SimConfig& addresses, double session_timeout_s,
                       const sockaddr_in& target, std::string host, ChurnHooks hooks)
    : params_(params),
      addresses_(addresses),
      timeout_ns_(static_cast<uint64_t>(session_timeout_s * 1e9)),
      target_(target),
      host_(std::move(host)),
      hooks_(std::move(hooks)) {
  total_ = params_.clients * (params_.churn ? 3 : 1);
  clients_.resize(params_.clients);
}

TrafficRun::~TrafficRun() {
  if (!loop_ready_) return;
  active_.clear();  // closes their connections
  uv_walk(&loop_, [](uv_handle_t* h, void*) { if (!uv_is_closing(h)) uv_close(h, nullptr); }, nullptr);
  int rc = uv_run(&loop_, UV_RUN_DEFAULT);
  if (rc == 0) rc = uv_loop_close(&loop_);
  if (rc != 0) std::fprintf(stderr, "tether-bench: the e2e loop did not close (%s)\n", uv_err_name(rc));
}

std::string TrafficRun::run(E2eResult& out) {
  out_ = &out;
  int rc = uv_loop_init(&loop_);
  if (rc < 0) return std::string("uv_loop_init: ") + uv_err_name(rc);
  loop_ready_ = true;
  if ((rc = uv_prepare_init(&loop_, &prepare_)) < 0 || (rc = uv_timer_init(&loop_, &timer_)) < 0)
    return std::string("uv init: ") + uv_err_name(rc);
  prepare_.data = timer_.data = this;
  if ((rc = uv_prepare_start(&prepare_, onPrepareCb)) < 0 || (rc = uv_timer_start(&timer_, onTimerCb, 100, 100)) < 0)
    return std::string("uv start: ") + uv_err_name(rc);
  uint64_t t0 = uv_hrtime();
  pump();
  rc = uv_run(&loop_, UV_RUN_DEFAULT);
  if (rc < 0) return std::string("uv_run: ") + uv_err_name(rc);
  out.wall_seconds = static_cast<double>(uv_hrtime() - t0) / 1e9;
  return error_;
}

void TrafficRun::onPrepareCb(uv_prepare_t* h) { static_cast<TrafficRun*>(h->data)->pump(); }

void TrafficRun::onTimerCb(uv_timer_t* h) {
  auto* self = static_cast<TrafficRun*>(h->data);
  if (interrupted()) return self->stop("interrupted");
  uint64_t now = uv_hrtime();
  for (auto& a : self->active_)
    if (!a->finished && now - a->session->startedNs() > self->timeout_ns_) a->session->timeout();
  self->pump();
}

void TrafficRun::stop(const std::string& why) {
  if (error_.empty()) error_ = why;
  stopping_ = true;
  for (auto& a : active_)
    if (!a->finished) a->session->timeout();
  // The prepare handle's next pump() folds them in and ends the run.
}

void TrafficRun::pump() {
  if (handles_closed_) return;
  // Fold in what finished (sessions are deleted here, never inside their own callbacks).
  for (auto& a : active_) {
    if (!a->finished) continue;
    record(*a);
    clients_[a->index % params_.clients].busy = false;
    a.reset();
  }
  active_.erase(std::remove(active_.begin(), active_.end(), nullptr), active_.end());
  while (!stopping_ && next_ < total_ && active_.size() < params_.wave && startNext()) {
  }
  if ((stopping_ || next_ >= total_) && active_.empty() && !handles_closed_) {
    handles_closed_ = true;  // uv_close stops them
    uv_close(reinterpret_cast<uv_handle_t*>(&prepare_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  }
}

bool TrafficRun::startNext() {
  size_t k = next_;
  Client& c = clients_[k % params_.clients];
  if (c.busy) return false;  // its previous session is still running
  bool removing = k == params_.remove_at && epoch_ == 0, adding = k == params_.add_at && epoch_ == 1;
  if (params_.churn && (removing || adding)) {
    // Sessions already started keep their place in the period they started in: the change
    // waits until each has its handshake answered, then hits them mid-session.
    for (const auto& a : active_)
      if (!a->finished && !a->session->pastHandshake()) return false;
    std::string err = removing ? hooks_.remove() : hooks_.add();
    if (!err.empty()) {
      stop(err);
      return false;
    }
    ++epoch_;
  }
  ++next_;
  c.busy = true;
  SessionParams p;
  std::string address = clientAddress(addresses_, k % params_.clients);
  p.source.sin_family = AF_INET;
  if (inet_pton(AF_INET, address.c_str(), &p.source.sin_addr) != 1) {
    stop("bad client address " + address);
    return false;
  }
  p.target = target_;
  p.host = host_;
  p.client_id = clientId(k % params_.clients);
  p.keep_cookies = params_.cookies;
  if (params_.cookies) p.cookies = c.cookies;
  auto a = std::make_unique<Active>();
  a->index = k;
  a->epoch_at_start = epoch_;
  Active* raw = a.get();
  a->session = std::make_unique<EioSession>(&loop_, std::move(p), [raw](EioSession&, const SessionOutcome& o) {
    raw->finished = true;
    raw->outcome = o;
  });
  active_.push_back(std::move(a));
  raw->session->start();
  return true;
}

void TrafficRun::record(const Active& a) {
  E2eResult& r = *out_;
  const SessionOutcome& o = a.outcome;
  Client& c = clients_[a.index % params_.clients];
  ++r.sessions;
  if (!o.server.empty()) {
    if (a.epoch_at_start == 0) ++r.placed_healthy[o.server];
    if (a.epoch_at_start == 2) ++r.placed_after_add[o.server];
    if (a.epoch_at_start > c.counted_epoch) {
      c.counted_epoch = a.epoch_at_start;
      if (!c.last_server.empty()) {
        bool moved = c.last_server != o.server;
        if (a.epoch_at_start == 1) {
          ++r.remap_rm_clients;
          r.remap_rm_moved += moved;
        } else if (a.epoch_at_start == 2) {
          ++r.remap_add_clients;
          r.remap_add_moved += moved;
        }
      }
    }
    c.last_server = o.server;
  }
  bool churned = a.epoch_at_start != epoch_;
  if (churned) {
    ++r.churn_in_flight;
    if (o.broken || o.failed) ++r.churn_broken;
  } else {
    ++r.healthy_sessions;
    if (o.broken) {
      ++r.healthy_broken;
      r.healthy_broken_polling += o.broken_polling;
    }
  }
  if (o.broken) ++r.broken;
  if (o.failed && !churned) ++r.failed;
  if (o.broken || o.failed) ++r.errors[o.error];
  if (o.handshake_ok) r.handshake_us.record(o.handshake_us);
  if (o.upgraded) r.upgrade_us.record(o.upgrade_us);
  if (params_.cookies) c.cookies = o.cookies;
}

}  // namespace bench::affinity

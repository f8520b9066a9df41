// Worker: see chat_worker.h.
#include "bench/chat/chat_worker.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <random>

namespace bench::chat {
namespace {

constexpr uint64_t kTickNs = 1'000'000;
constexpr size_t kReadBuffer = 256 * 1024;
constexpr uint64_t kMaxReportedFailures = 5;

}  // namespace

Worker::Worker(WorkerParams params, Control& control)
    : p_(std::move(params)), control_(control), read_buffer_(new char[kReadBuffer]), joined_per_room_(p_.rooms, 0) {
  assert(p_.target && p_.rooms > 0);
}

Worker::~Worker() { assert(!thread_.joinable()); }

bool Worker::start() {
  int rc = uv_loop_init(&loop_);
  if (rc < 0) {
    std::fprintf(stderr, "tether-bench chat: loop_init: %s\n", uv_strerror(rc));
    return false;
  }
  rc = uv_timer_init(&loop_, &tick_);
  if (rc < 0) {
    std::fprintf(stderr, "tether-bench chat: timer_init: %s\n", uv_strerror(rc));
    uv_loop_close(&loop_);
    return false;
  }
  tick_.data = this;
  clients_.reserve(p_.client_ids.size());
  thread_ = std::thread([this] { run(); });
  return true;
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::run() {
  start_ns_ = uv_hrtime();
  int rc = uv_timer_start(&tick_, &Worker::onTickCb, 0, 1);
  if (rc < 0) {
    std::fprintf(stderr, "tether-bench chat: timer_start: %s\n", uv_strerror(rc));
    settled_.store(true, std::memory_order_release);
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
  }
  uv_run(&loop_, UV_RUN_DEFAULT);
  rc = uv_loop_close(&loop_);
  assert(rc == 0);
  (void)rc;
}

void Worker::onTickCb(uv_timer_t* t) { static_cast<Worker*>(t->data)->tick(); }

void Worker::tick() {
  uint64_t now = uv_hrtime();
  auto wanted = static_cast<Phase>(control_.phase.load(std::memory_order_acquire));
  if (wanted == Phase::Stop) return stop();
  if (phase_ == Phase::Connect) {
    if (!settled()) connectSome(now);
    if (wanted == Phase::Load && settled()) {
      phase_ = Phase::Load;
      for (auto& c : clients_)
        if (c->state() == ChatClient::State::Ready) senders_.push_back(c.get());
      std::mt19937 rng(static_cast<uint32_t>(p_.client_ids.empty() ? 0 : p_.client_ids[0]));
      std::shuffle(senders_.begin(), senders_.end(), rng);
      thread_rate_ = static_cast<double>(senders_.size()) * p_.rate;
    }
  }
  if (phase_ == Phase::Load && !sending_done_) sendDue(now);
}

void Worker::connectSome(uint64_t now) {
  double elapsed = static_cast<double>(now - start_ns_) / 1e9;
  size_t n = p_.client_ids.size();
  auto due = static_cast<size_t>(std::min<double>(static_cast<double>(n), std::floor(p_.ramp * elapsed) + 1));
  while (clients_.size() < due) {
    uint32_t id = p_.client_ids[clients_.size()];
    clients_.push_back(std::make_unique<ChatClient>(&loop_, *p_.target, static_cast<ClientOwner&>(*this), id, id % p_.rooms, read_buffer_.get(),
                                                    kReadBuffer));
    clients_.back()->start();
  }
  uint64_t done = counters_.joined.load(std::memory_order_relaxed) + counters_.connect_failed.load(std::memory_order_relaxed);
  bool timed_out = elapsed > p_.connect_timeout_s;
  if (clients_.size() < n && !timed_out) return;
  if (done < n && !timed_out) return;
  size_t late = n - clients_.size();  // never started
  for (auto& c : clients_) {
    if (c->state() != ChatClient::State::Ready && c->state() != ChatClient::State::Closed) {
      c->close();
      ++late;
    }
  }
  if (late) {
    bump(counters_.connect_failed, late);
    std::fprintf(stderr,
                 "tether-bench chat: %zu clients had not joined after %.0f s and were closed "
                 "(a slower --ramp gives a busy server time to accept)\n",
                 late, p_.connect_timeout_s);
  }
  settled_.store(true, std::memory_order_release);
}

void Worker::sendDue(uint64_t now) {
  uint64_t end = std::min(now, control_.measure_to_ns);
  if (end <= control_.load_start_ns || senders_.empty()) return;
  auto due = static_cast<uint64_t>(static_cast<double>(end - control_.load_start_ns) * thread_rate_ / 1e9);
  size_t n = senders_.size();
  uint64_t queued = 0;
  while (sent_ < due) {
    uint64_t stamp = control_.load_start_ns + static_cast<uint64_t>(static_cast<double>(sent_) * 1e9 / thread_rate_);
    if (now - stamp < kTickNs) stamp = now;
    ++sent_;
    ChatClient* c = senders_[next_++ % n];
    if (c->state() != ChatClient::State::Ready) continue;  // dropped: counted as a disconnect
    c->queueMessage(stamp, p_.size);
    bump(counters_.expected, control_.members[c->room()]);
    ++queued;
  }
  bump(counters_.sent, queued);
  if (queued)
    for (ChatClient* c : senders_) c->flush();
  if (now >= control_.measure_to_ns) {
    sending_done_ = true;
    for (ChatClient* c : senders_) backlog_at_stop_ += c->backlog();
  }
}

void Worker::stop() {
  if (phase_ == Phase::Stop) return;
  phase_ = Phase::Stop;
  settled_.store(true, std::memory_order_release);
  for (auto& c : clients_) c->close();
  int rc = uv_timer_stop(&tick_);
  assert(rc == 0);
  (void)rc;
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
}

void Worker::onJoined(ChatClient& c) {
  ++joined_per_room_[c.room()];
  bump(counters_.joined);
}

void Worker::onFailed(ChatClient& c, const char* what, int uv_status) {
  if (c.joined()) {
    bump(counters_.disconnects);
    if (!settled()) --joined_per_room_[c.room()];  // not a member when the load starts
  } else {
    bump(counters_.connect_failed);
  }
  if (++reported_failures_ <= kMaxReportedFailures)
    std::fprintf(stderr, "tether-bench chat: client %u: %s%s%s\n", c.id(), what, uv_status ? " " : "",
                 uv_status ? uv_err_name(uv_status) : "");
}

void Worker::onDelivery(ChatClient& c, uint64_t stamp_ns, uint64_t sender, uint64_t now_ns) {
  bump(counters_.received);
  if (sender >= p_.total_clients || sender % p_.rooms != c.room()) bump(counters_.misrouted);
  if (phase_ == Phase::Load && now_ns >= control_.measure_from_ns && now_ns < control_.measure_to_ns)
    hist_.record(now_ns > stamp_ns ? (now_ns - stamp_ns) / 1000 : 0);
}

void Worker::onAck(ChatClient&, bool ok) {
  bump(counters_.acked);
  if (!ok) bump(counters_.ack_errors);
}

}  // namespace bench::chat

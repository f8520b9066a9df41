// The fleet bus over Redis; see fleet_bus.h and docs/fleet.md.
#include "backend/bus/fleet_bus.h"

#include <hiredis/hiredis.h>

#include <cassert>
#include <random>

#include "backend/bus/bus_codec.h"
#include "backend/bus/bus_scripts.h"
#include "common/log.h"
#include "common/uv_util.h"

namespace backend::bus {
namespace {

std::string randomEpoch() {
  static const char* hex = "0123456789abcdef";
  std::random_device rd;
  std::string out(16, '0');
  for (auto& c : out) c = hex[rd() % 16];
  return out;
}

bool replyInteger(const redisReply* r, long long& out) {
  if (!r || r->type != REDIS_REPLY_INTEGER) return false;
  out = r->integer;
  return true;
}

// A room message's text, checked (bus_codec.h) but not parsed into a tree: delivery splices
// the seq into it (backend/chat/message_text.h).
std::shared_ptr<const std::string> checkedMessage(std::string_view text, std::string_view room) {
  if (!checkMessageJson(text, room)) return nullptr;
  return std::make_shared<const std::string>(text);
}

std::string stringField(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

FleetBus::FleetBus(uv_loop_t* loop, Options options, Listener* listener)
    : loop_(loop),
      options_(std::move(options)),
      listener_(listener),
      epoch_(randomEpoch()),
      // A lost command link usually means Redis is gone or hung: the subscription goes too,
      // so that it is re-established (and history re-read) as soon as Redis answers again.
      cmd_(loop, options_.target, "cmd", {[this] { onCommandsUp(); },
                                          [this] {
                                            noteState();
                                            sub_.reset("command link lost");
                                          }}),
      sub_(loop, options_.target, "sub", {[this] { onSubscriptionUp(); }, [this] { onSubscriptionDown(); }}),
      queue_(options_.outageQueue, options_.outageWaitMs),
      historyCount_(std::min<size_t>(options_.history + 128, 10000)),
      historyCountArg_(std::to_string(historyCount_)) {
  sub_.setSubscriptionHandler([this](redisReply* r) { onSubscriptionReply(r); });
}

bool FleetBus::start() {
  int rc = uv_timer_init(loop_, &refresh_);
  if (rc == 0) rc = uv_timer_init(loop_, &defer_);
  if (rc == 0) rc = uv_timer_init(loop_, &flush_);
  if (rc == 0) rc = uv_timer_init(loop_, &expiry_);
  if (rc < 0) {
    common::logError("timer_init_failed", {{"error", common::uvErr(rc)}});
    return false;
  }
  refresh_.data = defer_.data = flush_.data = expiry_.data = this;
  started_ = true;
  noteState();
  rc = uv_timer_start(&refresh_, onRefreshCb, options_.livenessRefreshMs, options_.livenessRefreshMs);
  if (rc < 0) {
    common::logError("timer_start_failed", {{"error", common::uvErr(rc)}});
    return false;
  }
  common::logInfo("bus_starting", {{"redis", options_.target.display()}, {"epoch", epoch_}});
  return cmd_.start() && sub_.start();
}

void FleetBus::stop() {
  if (!started_) return;
  started_ = false;
  common::closeHandle(&refresh_);
  common::closeHandle(&defer_);
  common::closeHandle(&flush_);
  common::closeHandle(&expiry_);
  runDeferred();
  for (auto& q : queue_.takeAll()) {  // not committed: their senders may resend elsewhere
    ++counters_.unavailable;
    Commit c;
    c.unavailable = true;
    q.done(c);
  }
  if (cmd_.up()) {
    std::string key = instanceKey(options_.serverId);
    cmd_.command({"EVAL", scripts::kGoodbye, "1", key, epoch_}, [](redisReply*) {});
  }
  cmd_.stop(true);
  sub_.stop(false);
}

void FleetBus::noteState() {
  if (up()) {
    downSince_ = 0;
  } else if (downSince_ == 0) {
    downSince_ = std::max<uint64_t>(uv_now(loop_), 1);
  }
}

void FleetBus::onCommandsUp() {
  noteState();
  refreshLiveness();
  if (listener_) listener_->onBusCommandsUp();
  drainQueue();
}

void FleetBus::refreshLiveness() {
  if (!cmd_.up()) return;
  std::string key = instanceKey(options_.serverId);
  std::string ttl = std::to_string(options_.livenessTtlMs);
  cmd_.command({"SET", key, epoch_, "PX", ttl}, [](redisReply* r) {
    if (r && replyIsError(r)) common::logWarn("liveness_refresh_failed", {{"error", replyString(r)}});
  });
}

void FleetBus::onRefreshCb(uv_timer_t* t) { static_cast<FleetBus*>(t->data)->refreshLiveness(); }

// A new subscription connection has no channels: the fleet channel and every watched room's.
void FleetBus::onSubscriptionUp() {
  std::vector<std::string> channels = {std::string(kFleetChannel)};
  for (auto it = rooms_.begin(); it != rooms_.end();) {
    RoomChannel& rc = it->second;
    if (!rc.wanted) {
      releaseParked(rc);
      it = rooms_.erase(it);
      continue;
    }
    rc.onServer = true;
    channels.push_back(roomChannel(it->first));
    ++it;
  }
  if (!sub_.subscribe({channels.begin(), channels.end()})) sub_.reset("subscribe not sent");
}

void FleetBus::onSubscriptionDown() {
  subscribed_ = false;
  roomsConfirmed_ = 0;
  noteState();
  for (auto it = rooms_.begin(); it != rooms_.end();) {
    RoomChannel& rc = it->second;
    rc.onServer = rc.confirmed = rc.leaving = false;
    releaseParked(rc);  // answered now (or failed, with the command link down too)
    it = rc.wanted ? std::next(it) : rooms_.erase(it);
  }
}

void FleetBus::onSubscriptionReply(redisReply* r) {
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
  std::string_view kind = replyString(r->element[0]);
  std::string_view channel = replyString(r->element[1]);
  if (channel == kFleetChannel) {
    if (kind == "subscribe") {
      subscribed_ = true;
      noteState();
      common::logInfo("bus_subscribed", {{"channel", kFleetChannel}, {"rooms", rooms_.size()}});
      drainQueue();
    }
    return;  // nothing is published there
  }
  std::string room;
  if (!roomOfChannel(channel, room)) {
    ++counters_.malformed;
    return;
  }
  if (kind == "message") {
    onRoomMessage(room, replyString(r->element[2]));
    return;
  }
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  RoomChannel& rc = it->second;
  if (kind == "subscribe") {
    if (rc.onServer && !rc.confirmed) {
      onRoomConfirmed(room, rc);
    } else {
      releaseParked(rc);  // unwatched before its confirmation came
    }
  } else if (kind == "unsubscribe") {
    rc.leaving = false;
    if (rc.wanted) {
      markDirty(room);  // watched again meanwhile: subscribe again
    } else if (!rc.onServer && rc.parkedReads.empty()) {
      rooms_.erase(it);
    }
  }
}

// Reads first, then the room's waiting sends: a head-only read (a plain join) sent after a
// commit would count that message as already seen.
void FleetBus::onRoomConfirmed(const std::string& room, RoomChannel& rc) {
  rc.confirmed = true;
  ++roomsConfirmed_;
  releaseParked(rc);
  if (listener_) listener_->onBusRoomSubscribed(room);
  drainQueue();
}

void FleetBus::onRoomMessage(const std::string& room, std::string_view payload) {
  BusPayload p;
  if (!parseBusPayload(payload, p)) {
    ++counters_.malformed;
    return;
  }
  if (p.kind == BusPayload::Kind::Typing) {
    json t = json::parse(p.json.begin(), p.json.end(), nullptr, false);
    if (!t.is_object()) {
      ++counters_.malformed;
      return;
    }
    if (listener_) listener_->onBusTyping(t);
    return;
  }
  auto msg = checkedMessage(p.json, room);
  if (!msg) {
    ++counters_.malformed;
    return;
  }
  ++counters_.received;
  if (listener_) listener_->onBusMessage(room, p.seq, std::move(msg));
}

void FleetBus::watch(const std::string& room) {
  RoomChannel& rc = rooms_[room];
  if (rc.wanted) return;
  rc.wanted = true;
  markDirty(room);
}

void FleetBus::unwatch(const std::string& room) {
  auto it = rooms_.find(room);
  if (it == rooms_.end() || !it->second.wanted) return;
  it->second.wanted = false;
  markDirty(room);
}

void FleetBus::markDirty(const std::string& room) {
  dirty_.push_back(room);
  if (flushArmed_ || !started_) return;
  int rc = uv_timer_start(&flush_, onFlushCb, 0, 0);
  if (rc < 0) {
    common::logError("timer_start_failed", {{"error", common::uvErr(rc)}});
    return;
  }
  flushArmed_ = true;
}

void FleetBus::onFlushCb(uv_timer_t* t) { static_cast<FleetBus*>(t->data)->flushSubscriptions(); }

// One SUBSCRIBE and one UNSUBSCRIBE per loop turn for the rooms that changed. A room is never
// subscribed again while its UNSUBSCRIBE is unanswered (hiredis drops a channel's handler on
// the unsubscribe reply, whatever was sent after it): its reply marks it dirty again.
void FleetBus::flushSubscriptions() {
  flushArmed_ = false;
  auto dirty = std::move(dirty_);
  dirty_.clear();
  std::vector<std::string> subs, unsubs;
  for (const auto& room : dirty) {
    auto it = rooms_.find(room);
    if (it == rooms_.end()) continue;
    RoomChannel& rc = it->second;
    if (sub_.up()) {
      if (rc.wanted && !rc.onServer && !rc.leaving) {
        rc.onServer = true;
        subs.push_back(roomChannel(room));
      } else if (!rc.wanted && rc.onServer) {
        if (rc.confirmed) --roomsConfirmed_;
        rc.onServer = rc.confirmed = false;
        rc.leaving = true;
        unsubs.push_back(roomChannel(room));
      }
    }
    if (!rc.wanted && !rc.onServer && !rc.leaving) {
      releaseParked(rc);
      rooms_.erase(it);
    }
  }
  bool sent = (subs.empty() || sub_.subscribe({subs.begin(), subs.end()})) &&
              (unsubs.empty() || sub_.unsubscribe({unsubs.begin(), unsubs.end()}));
  if (!sent) sub_.reset("subscription change not sent");  // the reconnect subscribes what is watched
}

void FleetBus::releaseParked(RoomChannel& rc) {
  auto keys = std::move(rc.parkedReads);
  rc.parkedReads.clear();
  for (const auto& key : keys) sendRead(key);
}

bool FleetBus::roomReady(const std::string& room) const {
  auto it = rooms_.find(room);
  return it == rooms_.end() || !it->second.wanted || it->second.confirmed;
}

bool FleetBus::publish(const std::string& room, const std::string& messageJson, const std::string& messageId,
                       const std::string& cid, CommitFn done) {
  QueuedSend s{0, 0, room, messageJson, messageId, cid, std::move(done)};
  if (up() && roomReady(room) && !queue_.hasRoom(room)) {
    commit(std::move(s), false);
    return true;
  }
  // A queued send is committed later, possibly twice if a link drops mid-commit: a cid makes
  // the second a duplicate. Made here when the client gave none; never shown to members.
  if (s.cid.empty()) s.cid = queueCid();
  if (!queue_.push(s, uv_now(loop_))) {
    ++counters_.unavailable;
    return false;
  }
  ++counters_.queued;
  armExpiry();
  drainQueue();
  return true;
}

std::string FleetBus::queueCid() { return "q." + epoch_ + "." + std::to_string(++queueCids_); }

// Sends one commit. From the queue, a commit whose outcome was lost with the link goes back to
// its place and is sent again (same cid) when the bus is back; a direct one is answered "not
// committed, retry", as its client may resend with its own cid.
void FleetBus::commit(QueuedSend s, bool fromQueue) {
  auto held = std::make_shared<QueuedSend>(std::move(s));
  std::string seq = seqKey(held->room), hist = historyKey(held->room), channel = roomChannel(held->room);
  std::string max = std::to_string(options_.history);
  std::string cidk = held->cid.empty() ? std::string() : cidKey(held->cid, held->room);
  std::vector<std::string_view> argv = {"EVAL", scripts::kCommit, held->cid.empty() ? "2" : "3", seq, hist};
  if (!held->cid.empty()) argv.push_back(cidk);
  argv.insert(argv.end(), {max, held->messageJson, channel, held->messageId});
  bool sent = cmd_.command(argv, [this, held, fromQueue](redisReply* r) {
    Commit c;
    long long committed = 0, dup = 0;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 && replyInteger(r->element[0], committed) &&
        replyInteger(r->element[1], dup) && committed > 0) {
      c.ok = true;
      c.seq = static_cast<uint64_t>(committed);
      c.duplicate = dup != 0;
      c.id = std::string(replyString(r->element[2]));
      // A queued send retried after a lost reply is a duplicate of itself: still one commit.
      if (fromQueue && c.duplicate && held->cid.rfind("q.", 0) == 0) c.duplicate = false;
      ++(c.duplicate ? counters_.duplicates : counters_.published);
      held->done(c);
      return;
    }
    if (!r && fromQueue) {
      queue_.putBack(std::move(*held));
      armExpiry();
      return;
    }
    ++counters_.publishFailures;
    if (r) common::logWarn("commit_failed", {{"error", replyString(r)}});
    held->done(c);
  });
  if (sent) return;
  if (fromQueue) {
    queue_.putBack(std::move(*held));
    armExpiry();
    return;
  }
  // The link went down between up() and the command: queue it like any send in an outage.
  QueuedSend back = std::move(*held);
  if (back.cid.empty()) back.cid = queueCid();
  CommitFn done = back.done;
  if (queue_.push(back, uv_now(loop_))) {
    ++counters_.queued;
    armExpiry();
    return;
  }
  ++counters_.unavailable;
  defer([done = std::move(done)] {
    Commit c;
    c.unavailable = true;
    done(c);
  });
}

void FleetBus::drainQueue() {
  if (!up() || queue_.empty()) return;
  for (auto& s : queue_.takeReady([this](const std::string& room) { return roomReady(room); })) {
    commit(std::move(s), true);
  }
}

void FleetBus::armExpiry() {
  if (!started_) return;
  if (queue_.empty()) {
    uv_timer_stop(&expiry_);
    return;
  }
  uint64_t now = uv_now(loop_), at = queue_.nextExpiryMs();
  int rc = uv_timer_start(&expiry_, onExpiryCb, at > now ? at - now : 0, 0);
  if (rc < 0) common::logError("timer_start_failed", {{"error", common::uvErr(rc)}});
}

void FleetBus::onExpiryCb(uv_timer_t* t) { static_cast<FleetBus*>(t->data)->expireQueued(); }

void FleetBus::expireQueued() {
  auto expired = queue_.takeExpired(uv_now(loop_));
  if (!expired.empty()) {
    common::logWarn("sends_expired", {{"count", expired.size()}, {"waited_ms", options_.outageWaitMs}});
  }
  for (auto& s : expired) {
    ++counters_.unavailable;
    Commit c;
    c.unavailable = true;
    s.done(c);
  }
  armExpiry();
}

void FleetBus::publishTyping(const std::string& room, const json& typing) {
  if (!up()) return;
  std::string payload = encodeTyping(typing.dump()), channel = roomChannel(room);
  cmd_.command({"PUBLISH", channel, payload}, [](redisReply*) {});
}

void FleetBus::readHistory(const std::string& room, int64_t since, HistoryFn done) {
  std::string key = room + '\n' + std::to_string(since);
  auto [it, fresh] = reads_.try_emplace(key);
  it->second.push_back(std::move(done));
  if (!fresh) {
    ++counters_.historyCoalesced;
    return;
  }
  // A watched room whose subscription is on its way: read once it is confirmed, so whatever
  // the read does not return arrives live.
  auto rc = rooms_.find(room);
  if (sub_.up() && rc != rooms_.end() && rc->second.wanted && !rc->second.confirmed) {
    rc->second.parkedReads.push_back(std::move(key));
    return;
  }
  sendRead(key);
}

void FleetBus::sendRead(const std::string& key) {
  auto it = reads_.find(key);
  if (it == reads_.end()) return;
  size_t nl = key.rfind('\n');
  assert(nl != std::string::npos);
  std::string room = key.substr(0, nl), from = key.substr(nl + 1);
  std::string seq = seqKey(room), hist = historyKey(room);
  bool sent = cmd_.up() && cmd_.command({"EVAL", scripts::kHistory, "2", seq, hist, from, historyCountArg_},
                                        [this, key](redisReply* r) { finishRead(key, parseHistory(r)); });
  if (sent) {
    ++counters_.historyReads;
    return;
  }
  // Down: answer on the next loop turn so callers never see their callback re-entrantly.
  auto waiters = std::move(it->second);
  reads_.erase(it);
  for (auto& fn : waiters) defer([fn = std::move(fn)] { fn(History{}); });
}

void FleetBus::defer(std::function<void()> fn) {
  deferred_.push_back(std::move(fn));
  if (!started_) return;
  int rc = uv_timer_start(&defer_, onDeferCb, 0, 0);
  if (rc < 0) common::logError("timer_start_failed", {{"error", common::uvErr(rc)}});
}

void FleetBus::runDeferred() {
  auto fns = std::move(deferred_);
  deferred_.clear();
  for (auto& fn : fns) fn();
}

void FleetBus::onDeferCb(uv_timer_t* t) { static_cast<FleetBus*>(t->data)->runDeferred(); }

// {head, [[id, [field, value]], ...]} -> History; entries that do not parse are counted and
// skipped (the cursor then sees a hole and reports it as a gap: nothing is invented).
FleetBus::History FleetBus::parseHistory(redisReply* r) {
  History h;
  long long head = 0;
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 || !replyInteger(r->element[0], head) ||
      r->element[1]->type != REDIS_REPLY_ARRAY) {
    if (r) common::logWarn("history_read_failed", {{"error", replyString(r)}});
    return h;
  }
  h.ok = true;
  h.head = static_cast<uint64_t>(head);
  redisReply* entries = r->element[1];
  h.truncated = entries->elements >= historyCount_;
  for (size_t i = 0; i < entries->elements; ++i) {
    redisReply* e = entries->element[i];
    uint64_t seq = 0;
    bool shaped = e->type == REDIS_REPLY_ARRAY && e->elements == 2 && parseEntryId(replyString(e->element[0]), seq) &&
                  e->element[1]->type == REDIS_REPLY_ARRAY && e->element[1]->elements == 2;
    auto m = shaped ? checkedMessage(replyString(e->element[1]->element[1]), {}) : nullptr;
    if (!m) {
      ++counters_.malformed;
      continue;
    }
    h.seqs.push_back(seq);
    h.messages.push_back(std::move(m));
  }
  return h;
}

void FleetBus::finishRead(const std::string& key, const History& h) {
  auto it = reads_.find(key);
  if (it == reads_.end()) return;
  auto waiters = std::move(it->second);
  reads_.erase(it);  // before the callbacks: one may start the same read again
  for (auto& fn : waiters) fn(h);
}

std::string FleetBus::presenceValue(const std::string& name) const {
  return json{{"name", name}, {"server", options_.serverId}, {"epoch", epoch_}}.dump();
}

void FleetBus::presenceJoin(const std::string& room, const std::string& socketId, const std::string& name) {
  presenceJoinAll(room, {{socketId, name}});
}

void FleetBus::presenceJoinAll(const std::string& room,
                               const std::vector<std::pair<std::string, std::string>>& members) {
  if (!cmd_.up() || members.empty()) return;
  std::string key = presenceKey(room);
  std::vector<std::string> values;
  values.reserve(members.size());
  std::vector<std::string_view> argv = {"HSET", key};
  for (const auto& [id, name] : members) values.push_back(presenceValue(name));
  for (size_t i = 0; i < members.size(); ++i) argv.insert(argv.end(), {members[i].first, values[i]});
  cmd_.command(argv, [](redisReply*) {});
}

void FleetBus::presenceLeave(const std::string& room, const std::string& socketId) {
  if (!cmd_.up()) return;
  std::string key = presenceKey(room);
  cmd_.command({"HDEL", key, socketId}, [](redisReply*) {});
}

void FleetBus::readPresence(const std::string& room, std::function<void(bool, json)> done) {
  std::string key = presenceKey(room);
  std::string prefix = instanceKey("");
  auto answer = [done](redisReply* r) {
    json members = json::array();
    if (!r || r->type != REDIS_REPLY_ARRAY) return done(false, std::move(members));
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
      json v = json::parse(replyString(r->element[i + 1]), nullptr, false);
      if (!v.is_object()) continue;
      json m = {{"id", std::string(replyString(r->element[i]))}, {"name", stringField(v, "name")},
                {"server", stringField(v, "server")}};
      members.push_back(std::move(m));
    }
    done(true, std::move(members));
  };
  if (cmd_.up() && cmd_.command({"EVAL", scripts::kPresence, "1", key, prefix}, answer)) {
    ++counters_.presenceReads;
    return;
  }
  defer([done] { done(false, json::array()); });
}

}  // namespace backend::bus

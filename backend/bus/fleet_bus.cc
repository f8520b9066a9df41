// The fleet bus over Redis; see fleet_bus.h and docs/fleet.md.
#include "backend/bus/fleet_bus.h"

#include <hiredis/hiredis.h>

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

std::shared_ptr<const json> parseMessage(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return nullptr;
  return std::make_shared<const json>(std::move(j));
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
      sub_(loop, options_.target, "sub",
           {[this] {
              if (!sub_.subscribe(std::string(kChannel), [this](redisReply* r) { onSubscriptionReply(r); })) {
                sub_.reset("subscribe not sent");
              }
            },
            [this] {
              subscribed_ = false;
              noteState();
            }}),
      historyCount_(std::min<size_t>(options_.history + 128, 10000)),
      historyCountArg_(std::to_string(historyCount_)) {}

bool FleetBus::start() {
  int rc = uv_timer_init(loop_, &refresh_);
  if (rc == 0) rc = uv_timer_init(loop_, &defer_);
  if (rc < 0) {
    common::logError("timer_init_failed", {{"error", common::uvErr(rc)}});
    return false;
  }
  refresh_.data = defer_.data = this;
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
  runDeferred();
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

void FleetBus::onSubscriptionReply(redisReply* r) {
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
  std::string_view kind = replyString(r->element[0]);
  if (kind == "subscribe") {
    subscribed_ = true;
    noteState();
    common::logInfo("bus_subscribed", {{"channel", kChannel}});
    if (listener_) listener_->onBusSubscribed();
    return;
  }
  if (kind != "message") return;
  BusPayload p;
  if (!parseBusPayload(replyString(r->element[2]), p)) {
    ++counters_.malformed;
    return;
  }
  auto msg = parseMessage(p.json);
  if (!msg) {
    ++counters_.malformed;
    return;
  }
  if (p.kind == BusPayload::Kind::Typing) {
    if (listener_) listener_->onBusTyping(*msg);
    return;
  }
  auto room = msg->find("room");
  if (room == msg->end() || !room->is_string()) {
    ++counters_.malformed;
    return;
  }
  ++counters_.received;
  if (listener_) listener_->onBusMessage(room->get<std::string>(), p.seq, std::move(msg));
}

bool FleetBus::publish(const std::string& room, const std::string& messageJson, const std::string& messageId,
                       const std::string& cid, std::function<void(const Commit&)> done) {
  if (!up()) return false;
  std::string seq = seqKey(room), hist = historyKey(room), max = std::to_string(options_.history);
  std::string cidk = cid.empty() ? std::string() : cidKey(cid, room);
  std::vector<std::string_view> argv = {"EVAL", scripts::kCommit, cid.empty() ? "2" : "3", seq, hist};
  if (!cid.empty()) argv.push_back(cidk);
  argv.insert(argv.end(), {max, messageJson, kChannel, messageId});
  return cmd_.command(argv, [this, done = std::move(done)](redisReply* r) {
    Commit c;
    long long committed = 0, dup = 0;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 && replyInteger(r->element[0], committed) &&
        replyInteger(r->element[1], dup) && committed > 0) {
      c.ok = true;
      c.seq = static_cast<uint64_t>(committed);
      c.duplicate = dup != 0;
      c.id = std::string(replyString(r->element[2]));
      ++(c.duplicate ? counters_.duplicates : counters_.published);
    } else {
      ++counters_.publishFailures;
      if (r) common::logWarn("commit_failed", {{"error", replyString(r)}});
    }
    done(c);
  });
}

void FleetBus::publishTyping(const json& typing) {
  if (!up()) return;
  std::string payload = encodeTyping(typing.dump());
  cmd_.command({"PUBLISH", kChannel, payload}, [](redisReply*) {});
}

void FleetBus::readHistory(const std::string& room, int64_t since, HistoryFn done) {
  std::string key = room + '\n' + std::to_string(since);
  auto [it, fresh] = reads_.try_emplace(key);
  it->second.push_back(std::move(done));
  if (!fresh) {
    ++counters_.historyCoalesced;
    return;
  }
  std::string seq = seqKey(room), hist = historyKey(room), from = std::to_string(since);
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
    auto m = shaped ? parseMessage(replyString(e->element[1]->element[1])) : nullptr;
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

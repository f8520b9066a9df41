// Shared outgoing frames and the per-connection frame queue (backend/http/out_frame.h,
// frame_queue.h): a broadcast's bytes are what a client decodes, and a queue hands the kernel
// exactly the unwritten bytes, in order, however the writes split them.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "backend/http/frame_queue.h"
#include "backend/http/out_frame.h"
#include "common/ws_codec.h"

namespace {

using backend::http::FrameQueue;
using backend::http::makeFrame;
using common::ws::Opcode;

// What a client receives: decodes frames from bytes.
struct Collect : common::ws::Sink {
  std::vector<std::pair<Opcode, std::string>> got;
  bool onMessage(Opcode op, std::string_view p) override { got.emplace_back(op, std::string(p)); return true; }
  bool onPing(std::string_view) override { return true; }
  bool onPong(std::string_view) override { return true; }
  bool onClose(uint16_t, std::string_view) override { return true; }
};

std::vector<std::pair<Opcode, std::string>> decodeAll(const std::string& bytes) {
  Collect c;
  common::ws::Decoder d(common::ws::Role::Client, 1 << 24);
  auto st = d.decode(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), c);
  REQUIRE(st != common::ws::Decoder::Status::Error);
  return c.got;
}

std::string drain(FrameQueue& q, size_t maxBufs, size_t writeLimit) {
  std::string out;
  while (!q.empty()) {
    uv_buf_t bufs[8];
    size_t n = q.gather(bufs, maxBufs);
    REQUIRE(n > 0);
    size_t wrote = 0;
    for (size_t i = 0; i < n && wrote < writeLimit; ++i) {
      size_t take = std::min<size_t>(bufs[i].len, writeLimit - wrote);
      out.append(bufs[i].base, take);
      wrote += take;
    }
    q.consume(wrote);
  }
  return out;
}

}  // namespace

TEST_CASE("a shared frame is one unmasked frame with its payload after the header") {
  auto f = makeFrame(Opcode::Text, "4", "2[\"hi\"]");
  CHECK(f->headerSize() == 2);
  CHECK(f->payload() == "42[\"hi\"]");
  CHECK(f->wire() == common::ws::encodeFrame(Opcode::Text, "42[\"hi\"]"));
  auto got = decodeAll(std::string(f->wire()));
  REQUIRE(got.size() == 1);
  CHECK(got[0].second == "42[\"hi\"]");
}

TEST_CASE("frame lengths across the 7-bit, 16-bit and 64-bit header forms") {
  for (size_t len : {0u, 1u, 124u, 125u, 126u, 65535u, 65536u, 70000u}) {
    std::string payload(len, 'x');
    auto f = makeFrame(Opcode::Binary, {}, payload);
    CHECK(f->headerSize() == (len < 126 ? 2 : len <= 65535 ? 4 : 10));
    CHECK(f->payload() == payload);
    auto got = decodeAll(std::string(f->wire()));
    REQUIRE(got.size() == 1);
    CHECK(got[0].first == Opcode::Binary);
    CHECK(got[0].second.size() == len);
  }
}

TEST_CASE("a frame queue writes every byte once, in order, however the writes split") {
  auto a = makeFrame(Opcode::Text, "4", "first");
  auto b = makeFrame(Opcode::Text, "4", std::string(300, 'b'));
  auto c = makeFrame(Opcode::Text, "4", "third");
  std::string expected = std::string(a->wire()) + std::string(b->wire()) + std::string(c->wire());
  for (size_t maxBufs : {1u, 2u, 8u}) {
    for (size_t limit : {1u, 3u, 7u, 100u, 1000u}) {
      FrameQueue q;
      q.push(a);
      q.push(b);
      q.push(c);
      CHECK(q.bytes() == expected.size());
      CHECK(q.frames() == 3);
      CHECK(drain(q, maxBufs, limit) == expected);
      CHECK(q.bytes() == 0);
      CHECK(q.empty());
    }
  }
  auto got = decodeAll(expected);
  REQUIRE(got.size() == 3);
  CHECK(got[1].second == "4" + std::string(300, 'b'));
}

TEST_CASE("a queue holds references: one frame shared by many queues, freed after the last") {
  std::weak_ptr<const backend::http::OutFrame> watch;
  std::vector<FrameQueue> queues(100);
  {
    auto f = makeFrame(Opcode::Text, "4", "broadcast");
    watch = f;
    for (auto& q : queues) q.push(f);
  }
  CHECK(watch.use_count() == 100);
  for (auto& q : queues) CHECK(q.bytes() == 2 + 10);  // each recipient counts the whole frame toward its cap
  for (size_t i = 0; i < queues.size(); ++i) {
    uv_buf_t buf;
    REQUIRE(queues[i].gather(&buf, 1) == 1);
    CHECK(std::string_view(buf.base, buf.len) == watch.lock()->wire());
    queues[i].consume(buf.len);
  }
  CHECK(watch.expired());
}

TEST_CASE("a partial write leaves the rest of the first frame for the next gather") {
  FrameQueue q;
  q.push(makeFrame(Opcode::Text, {}, "abcdef"));  // 2 + 6 bytes
  q.push(makeFrame(Opcode::Text, {}, "gh"));      // 2 + 2
  q.consume(5);
  CHECK(q.bytes() == 7);
  uv_buf_t bufs[4];
  REQUIRE(q.gather(bufs, 4) == 2);
  CHECK(std::string_view(bufs[0].base, bufs[0].len) == "def");
  CHECK(bufs[1].len == 4);
  q.clear();
  CHECK(q.empty());
  CHECK(q.gather(bufs, 4) == 0);
}

// The replay rule after an upstream failure (server::decideRetry), shared by HTTP/1.1 sessions
// and HTTP/2 streams: when a request is replayed to the same server, to another one, or fails.
#include <doctest/doctest.h>

#include "proxy/server/exchange_parts.h"

using proxy::server::decideRetry;
using proxy::server::RetryInputs;
using proxy::server::RetryStep;

namespace {

// A reused keep-alive connection closed before answering, nothing sent either way yet.
RetryInputs staleClose() {
  RetryInputs in;
  in.stale_ok = true;
  in.reused = true;
  in.next_ok = true;
  return in;
}

}  // namespace

TEST_CASE("a reused connection closed before answering is replayed once to the same server") {
  RetryInputs in = staleClose();
  CHECK(decideRetry(in) == RetryStep::Stale);
  in.stale_retry_used = true;
  CHECK(decideRetry(in) == RetryStep::Next);
  in.next_ok = false;  // a non-idempotent request does not move on
  CHECK(decideRetry(in) == RetryStep::Fail);
}

TEST_CASE("a stale retry needs a reused connection, no upstream response and stale_ok") {
  RetryInputs in = staleClose();
  in.next_ok = false;
  in.reused = false;
  CHECK(decideRetry(in) == RetryStep::Fail);
  in = staleClose();
  in.next_ok = false;
  in.upstream_response_started = true;
  CHECK(decideRetry(in) == RetryStep::Fail);
  in = staleClose();
  in.next_ok = false;
  in.stale_ok = false;
  CHECK(decideRetry(in) == RetryStep::Fail);
  in.next_ok = true;
  CHECK(decideRetry(in) == RetryStep::Next);
}

TEST_CASE("nothing is replayed once a response reached the client or body went upstream") {
  RetryInputs in = staleClose();
  in.response_started = true;
  CHECK(decideRetry(in) == RetryStep::Fail);
  in = staleClose();
  in.body_forwarded = true;
  CHECK(decideRetry(in) == RetryStep::Fail);
  in.stale_ok = false;
  CHECK(decideRetry(in) == RetryStep::Fail);
}

TEST_CASE("a failure on a fresh connection moves to the next server only when next_ok") {
  RetryInputs in;
  in.next_ok = true;
  CHECK(decideRetry(in) == RetryStep::Next);
  in.next_ok = false;
  CHECK(decideRetry(in) == RetryStep::Fail);
}

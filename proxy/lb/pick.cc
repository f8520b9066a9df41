// choose(): see pick.h.
#include "proxy/lb/pick.h"

#include <cassert>

namespace proxy::lb {

Choice choose(const PickInputs& in, const Selector& selector, PickState& state, ServerMask& scratch) {
  Choice c;
  const ServerMask* tried = in.tried;
  const Membership* m = in.membership;
  bool named = false;
  if (in.affinity) {
    for (int pin : in.affinity->pins) {
      if (pin < 0) continue;
      named = true;
      size_t s = static_cast<size_t>(pin);
      if (tried && tried->test(s)) continue;
      if (m && !m->acceptsPinned(s)) continue;
      c.server = pin;
      c.pin = PinOutcome::Hit;
      return c;
    }
  }
  PickContext ctx;
  ctx.active = in.active;
  if (in.affinity) {
    ctx.key = in.affinity->key;
    ctx.has_key = in.affinity->has_key;
  }
  if (m && !m->no_new.empty()) {
    scratch.clear();
    for (size_t i = 0; i < m->size(); ++i)
      if ((tried && tried->test(i)) || m->no_new.test(i)) scratch.set(i);
    ctx.excluded = &scratch;
  } else {
    ctx.excluded = tried;
  }
  c.server = (m && m->all_down) ? -1 : selector.pick(ctx, state);
  assert(c.server < 0 || !isExcluded(ctx, static_cast<size_t>(c.server)));
  if (named) c.pin = PinOutcome::Repinned;
  else if (in.affinity && in.affinity->unknown_pin) c.pin = PinOutcome::Unknown;
  return c;
}

}  // namespace proxy::lb

// makeMembership: see membership.h.
#include "proxy/lb/membership.h"

namespace proxy::lb {

MembershipPtr makeMembership(uint64_t version, const void* layout, std::vector<MemberState> members) {
  auto m = std::make_shared<Membership>();
  m->version = version;
  m->layout = layout;
  m->members = std::move(members);
  m->all_down = true;
  for (size_t i = 0; i < m->members.size(); ++i) {
    const MemberState& s = m->members[i];
    if (!s.healthy || s.admin != AdminState::Enabled) m->no_new.set(i);
    if (!s.healthy || s.admin == AdminState::Disabled) m->no_pinned.set(i);
    if (s.healthy) m->all_down = false;
    if (s.weight_step < 10) m->ramping = true;
  }
  return m;
}

}  // namespace proxy::lb

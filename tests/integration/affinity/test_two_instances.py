"""Two tether instances with the same config route every key to the same server (consistent_hash
on a header, with bounded loads), walk on to the same next server when one refuses connections
while every other key stays put, and honour each other's cookies."""
from affinity_support import *  # noqa: F403


def config(port, backends, strategy, extra):
    return simple_config(port, [{"address": b.address, "name": b.name} for b in backends], strategy=strategy,
                         extra_upstream=extra).replace("workers: 1", "workers: 2")


def main():
    backends = [Backend(f"b{i}").start() for i in range(5)]
    p1, p2, p3, p4 = free_port(), free_port(), free_port(), free_port()
    ch = "hash_key: [header:x-user, cookie:uid]\nbalance_factor: 1.5"
    with Tether(config(p1, backends, "consistent_hash", ch), [p1]), \
         Tether(config(p2, backends, "consistent_hash", ch), [p2]):
        used = set()
        for i in range(100):
            a = get(p1, headers={"X-User": f"user-{i}"})[2]
            b = get(p2, headers={"X-User": f"user-{i}"})[2]
            check(a == b, f"instances disagree on user-{i}: {a} {b}")
            used.add(a)
            c = get(p2, headers={"Cookie": f"uid=user-{i}"})[2]
            check(c == a, "cookie:uid and header:x-user keys should hash alike")
        check(len(used) == 5, f"keys do not cover the fleet: {used}")
        # One server refuses connections: its keys walk on the ring to the same next server on
        # both instances; every other key stays where it was.
        before = {i: get(p1, headers={"X-User": f"user-{i}"})[2] for i in range(100)}
        dead = backends[2]
        dead.stop()
        moved = 0
        for i in range(100):
            a = get(p1, headers={"X-User": f"user-{i}"})[2]
            b = get(p2, headers={"X-User": f"user-{i}"})[2]
            check(a == b, f"instances disagree after a failure on user-{i}: {a} {b}")
            check(a != dead.name.encode(), "dead server chosen")
            if before[i] != dead.name.encode():
                check(a == before[i], f"user-{i} moved although its server is alive")
            else:
                moved += 1
        check(moved > 0, "no key lived on the stopped server")
    alive = [b for b in backends if b is not dead]
    with Tether(config(p3, alive, "cookie", ""), [p3]), Tether(config(p4, alive, "cookie", ""), [p4]):
        for _ in range(5):
            s, h, body = get(p3)
            value = cookie_value(h["set-cookie"])
            s, h2, body2 = get(p4, headers={"Cookie": f"tether_sid={value}"})
            check(body2 == body and "set-cookie" not in h2, "instance B ignored instance A's cookie")
    for b in backends:
        if b is not dead:
            b.stop()
    print("ok")


main()

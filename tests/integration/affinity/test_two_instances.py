"""Two tether instances with the same config route every key to the same server
(consistent_hash on a header, ip_hash-like remote_addr is trivially the same on loopback) and
honour each other's cookies."""
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
    with Tether(config(p3, backends, "cookie", ""), [p3]), Tether(config(p4, backends, "cookie", ""), [p4]):
        for _ in range(5):
            s, h, body = get(p3)
            value = cookie_value(h["set-cookie"])
            s, h2, body2 = get(p4, headers={"Cookie": f"tether_sid={value}"})
            check(body2 == body and "set-cookie" not in h2, "instance B ignored instance A's cookie")
    for b in backends:
        b.stop()
    print("ok")


main()

"""ip_hash: the client address is the key; behind trusted_proxies it is the right-most
untrusted X-Forwarded-For entry; ipv4_prefix 24 groups a /24; an untrusted listener ignores XFF."""
from affinity_support import *  # noqa: F403


def main():
    backends = [Backend(f"b{i}").start() for i in range(4)]
    trusted, plain = free_port(), free_port()
    servers = [{"address": b.address, "name": b.name} for b in backends]
    cfg = simple_config(trusted, servers, strategy="ip_hash", extra_upstream="ip_hash: {ipv4_prefix: 24}")
    cfg = cfg.replace(f"    address: 127.0.0.1:{trusted}\n",
                      f"    address: 127.0.0.1:{trusted}\n    trusted_proxies: [127.0.0.0/8]\n"
                      f"  - name: plain\n    address: 127.0.0.1:{plain}\n")
    cfg = cfg.replace("workers: 1", "workers: 2")
    with Tether(cfg, [trusted, plain]):
        def via(port, xff):
            return get(port, headers={"X-Forwarded-For": xff})[2].decode()
        a = via(trusted, "203.0.113.5")
        for _ in range(10):
            check(via(trusted, "203.0.113.5") == a, "same client, different server")
        check(via(trusted, "203.0.113.77") == a, "ipv4_prefix 24 should group the /24")
        check(via(trusted, "6.6.6.6, 203.0.113.9") == a, "right-most untrusted entry not used")
        check(via(trusted, "203.0.113.9, 127.0.0.5") == a, "trusted hop not skipped")
        spread = {via(trusted, f"198.{i}.{i * 7 % 256}.1") for i in range(60)}
        check(len(spread) >= 3, f"addresses do not spread: {spread}")
        # The listener without trusted_proxies keys on the TCP peer: XFF is ignored.
        peers = {via(plain, f"198.{i}.0.1") for i in range(20)}
        check(len(peers) == 1, f"untrusted listener believed X-Forwarded-For: {peers}")
    for b in backends:
        b.stop()
    print("ok")


main()

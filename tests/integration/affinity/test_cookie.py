"""Cookie affinity: the cookie is set by the first response, honoured afterwards (across
connections and workers), and re-pinned to a live server when its server is down; a forged value
is replaced."""
from affinity_support import *  # noqa: F403


def main():
    backends = [Backend(f"b{i}").start() for i in range(3)]
    port = free_port()
    cfg = simple_config(port, [{"address": b.address, "name": b.name} for b in backends], strategy="cookie", retries=2,
                        extra_upstream="cookie: {name: tether_sid, max_age: 3600, same_site: Lax}")
    cfg = cfg.replace("workers: 1", "workers: 2")
    with Tether(cfg, [port]) as t:
        status, h, body = get(port)
        check(status == 200, f"status {status}")
        sc = h.get("set-cookie", "")
        check(sc.startswith("tether_sid="), f"no Set-Cookie: {h}")
        check("Max-Age=3600" in sc and "SameSite=Lax" in sc and "Path=/" in sc and "HttpOnly" in sc, sc)
        value = cookie_value(sc)
        check(len(value) == 16 and "127.0.0.1" not in value, f"opaque id expected: {value}")
        home = body.decode()
        for _ in range(20):
            s, h2, b2 = get(port, headers={"Cookie": f"other=1; tether_sid={value}"})
            check(b2.decode() == home, f"cookie not honoured: {b2} != {home}")
            check("set-cookie" not in h2, "cookie re-set although honoured")
        # Different clients without cookie spread over the fleet (least_conn fallback, ties rotate).
        seen = {get(port)[2].decode() for _ in range(12)}
        check(len(seen) >= 2, f"fallback does not spread: {seen}")
        # A forged value is replaced.
        s, h3, b3 = get(port, headers={"Cookie": "tether_sid=0123456789abcdef"})
        check(cookie_value(h3.get("set-cookie", "")) not in (None, "0123456789abcdef"), "forged cookie not re-set")
        # Its server dies: the request goes elsewhere and the response re-pins the client.
        dead = next(b for b in backends if b.name == home)
        dead.stop()
        s, h4, b4 = get(port, headers={"Cookie": f"tether_sid={value}"})
        check(s == 200 and b4.decode() != home, f"dead server not avoided: {s} {b4}")
        new_value = cookie_value(h4.get("set-cookie", ""))
        check(new_value and new_value != value, f"not re-pinned: {h4}")
        new_home = b4.decode()
        for _ in range(10):
            s, h5, b5 = get(port, headers={"Cookie": f"tether_sid={new_value}"})
            check(b5.decode() == new_home, "re-pinned cookie not honoured")
    for b in backends:
        if b is not dead:
            b.stop()
    print("ok")


main()

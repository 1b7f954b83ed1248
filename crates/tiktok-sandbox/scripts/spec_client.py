#!/usr/bin/env python3
"""A stdlib-only client that signs by tiktok-shop-api.md and walks the sandbox's "done when" checks:
query, page through, ship, then a wrong signature (106001), a stale timestamp (36009004) and a 51st call
within a second (HTTP 429 / 36009002). Usage:

    spec_client.py BASE_URL APP_KEY APP_SECRET SHOP_CIPHER ACCESS_TOKEN

Exits non-zero on the first check that fails.
"""
import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def sign(secret, path, params, body=""):
    pairs = sorted((k, v) for k, v in params.items() if k not in ("sign", "access_token"))
    msg = secret + path + "".join(k + v for k, v in pairs) + body + secret
    return hmac.new(secret.encode(), msg.encode(), hashlib.sha256).hexdigest()


class Client:
    def __init__(self, base, key, secret, cipher, token):
        self.base, self.key, self.secret, self.cipher, self.token = base, key, secret, cipher, token

    def call(self, method, path, params=None, body=None, ts_skew=0, bad_sign=False, cipher=True):
        q = dict(params or {})
        q["app_key"] = self.key
        q["timestamp"] = str(int(time.time()) + ts_skew)
        if cipher:
            q["shop_cipher"] = self.cipher
        raw = "" if body is None else json.dumps(body, separators=(",", ":"))
        q["sign"] = sign("wrong" if bad_sign else self.secret, path, q, raw)
        url = self.base + path + "?" + urllib.parse.urlencode(q)
        req = urllib.request.Request(url, method=method, data=raw.encode() if raw else None)
        req.add_header("content-type", "application/json")
        req.add_header("x-tts-access-token", self.token)
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        sys.exit(1)


def main():
    c = Client(*sys.argv[1:6])
    status, v = c.call("GET", "/authorization/202309/shops", cipher=False)
    check(v["code"] == 0 and v["data"]["shops"][0]["cipher"] == c.cipher, "shops lists our cipher")
    seen, token, pages, package = set(), "", 0, None
    while True:
        params = {"page_size": "20"}
        if token:
            params["page_token"] = token
        status, v = c.call("POST", "/order/202309/orders/search", params, {"order_status": "AWAITING_SHIPMENT"})
        check(v["code"] == 0, f"search page {pages + 1}")
        for o in v["data"]["orders"]:
            seen.add(o["id"])
            if package is None and o["shipping_type"] == "TIKTOK":
                package = o["packages"][0]["id"]
        pages += 1
        token = v["data"]["next_page_token"]
        if not token:
            break
    check(len(seen) == v["data"]["total_count"], f"paged {pages} pages, {len(seen)} distinct orders")
    check(package is not None, "found a TIKTOK-shipping package to ship")
    ship = f"/fulfillment/202309/packages/{package}/ship"
    status, v = c.call("POST", ship, body={"handover_method": "PICKUP"})
    check(v["code"] == 0, f"shipped package {package}")
    status, v = c.call("POST", ship, body={"handover_method": "PICKUP"})
    check(v["code"] != 0, f"duplicate ship refused with {v['code']}")
    status, v = c.call("POST", "/order/202309/orders/search", {"page_size": "1"}, bad_sign=True)
    check(v["code"] == 106001, f"wrong sign -> {v['code']}")
    status, v = c.call("POST", "/order/202309/orders/search", {"page_size": "1"}, ts_skew=-400)
    check(v["code"] == 36009004, f"stale timestamp -> {v['code']}")
    # Fire well over 50 calls; within one second of each other at least one must be throttled.
    results = []
    start = time.time()
    for _ in range(60):
        results.append(c.call("GET", "/logistics/202309/delivery_options/1/shipping_providers"))
    elapsed = time.time() - start
    throttled = [r for r in results if r[0] == 429 and r[1]["code"] == 36009002]
    if elapsed < 1.0:
        check(len(throttled) >= 10, f"{len(throttled)} of 60 calls in {elapsed:.2f}s got 429 / 36009002")
    else:
        print(f"skip 429 check: 60 calls took {elapsed:.2f}s (machine too slow for a one-second burst)")


if __name__ == "__main__":
    main()

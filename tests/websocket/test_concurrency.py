"""Many connections at once: each gets its own replies, and only those."""

import json
import threading

from conftest import CONNECTION_ID, add_echo, add_whoami, whoami


def run_clients(api, count, messages, action, check):
    """`count` connections, all open at once; each sends `messages` messages back to back
    after a common start signal and collects its replies. Returns the failures."""
    barrier = threading.Barrier(count)
    failures = []
    lock = threading.Lock()

    def one(n):
        try:
            with api.connect(open_timeout=60) as ws:
                cid = whoami(ws)["connectionId"]
                barrier.wait(timeout=120)
                for m in range(messages):
                    ws.send(json.dumps({"action": action, "data": f"{n}-{m}"}))
                replies = [json.loads(ws.recv(timeout=60)) for _ in range(messages)]
                check(cid, n, messages, replies)
        except Exception as e:  # noqa: BLE001 - reported below
            with lock:
                failures.append(f"client {n}: {e!r}")

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    return failures


def test_many_connections_through_mock(make_api):
    api = make_api()
    add_echo(api)
    add_whoami(api)
    api.deploy()

    def check(cid, n, messages, replies):
        assert CONNECTION_ID.match(cid)
        assert all(r["connectionId"] == cid for r in replies), replies
        # Replies are asynchronous: any order, but exactly this connection's messages.
        assert sorted(r["echoed"] for r in replies) == sorted(f"{n}-{m}" for m in range(messages))

    failures = run_clients(api, 60, 5, "echo", check)
    assert failures == [], failures[:5]


def test_many_connections_through_lambda(make_api):
    api = make_api()
    api.route("proxy", api.lambda_proxy("message"), two_way=True)
    add_whoami(api)
    api.deploy()

    def check(cid, n, messages, replies):
        assert all(r["connectionId"] == cid for r in replies), replies
        got = sorted(json.loads(r["got"])["data"] for r in replies)
        assert got == sorted(f"{n}-{m}" for m in range(messages))
        assert len({r["messageId"] for r in replies}) == messages

    failures = run_clients(api, 50, 3, "proxy", check)
    assert failures == [], failures[:5]

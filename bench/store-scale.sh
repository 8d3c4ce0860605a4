#!/usr/bin/env bash
# Store scale benchmark: apigw's memory and restart time with 100,000 stored integrations, on
# loopback only.
#
#   bash bench/store-scale.sh
#
# 1. Starts target/release/apigw on an empty data dir and reads its RSS once it is idle.
# 2. Stores BENCH_INTEGRATIONS (default 100,000) HTTP_PROXY integrations, 300 per API (AWS's
#    quota, so ~334 APIs), through the real /v2 REST API: BENCH_CLIENTS (default 16) concurrent
#    keep-alive clients (python3 asyncio, standard library only). Every one must answer 201.
# 3. Reads the RSS again once idle: the growth is per 100,000 integrations.
# 4. Stops apigw (SIGTERM) and restarts it on the same data dir BENCH_RESTARTS times (default
#    3): time from spawn to the first 200 on GET /v2/apis (polled every 0.5 ms), the CPU time
#    its threads had used by then (which, unlike the wall time, hardly moves with the machine's
#    load), the RSS once idle after it, and a check that every API and integration came back.
#
# Targets (issue 14, item 8): RSS idle on an empty data dir < 15 MiB; RSS growth per 100,000
# integrations <= 40 MiB; restart to the first 200 < 300 ms (median of the restarts); RSS after
# the restart no higher than before it. Each is printed with met / MISSED.
#
# Environment: BENCH_INTEGRATIONS, BENCH_CLIENTS, BENCH_RESTARTS, BENCH_SETTLE (seconds to let
# the process go idle before an RSS reading, default 2), BENCH_KEEP=DIR (keep the data dir
# there), BENCH_APIGW_BIN (measure this binary instead of building one), CARGO_TARGET_DIR. Takes a
# minute or two on 2 cores.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
target_dir=${CARGO_TARGET_DIR:-$root/target}
integrations=${BENCH_INTEGRATIONS:-100000}
clients=${BENCH_CLIENTS:-16}
restarts=${BENCH_RESTARTS:-3}
settle=${BENCH_SETTLE:-2}
[[ $integrations =~ ^[0-9]+$ && $clients =~ ^[0-9]+$ && $restarts =~ ^[1-9][0-9]*$ ]] ||
  { echo "BENCH_INTEGRATIONS, BENCH_CLIENTS and BENCH_RESTARTS must be integers" >&2; exit 2; }

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }
command -v python3 >/dev/null || die "python3 is required"

if [[ -n ${BENCH_APIGW_BIN:-} ]]; then
  apigw_bin=$BENCH_APIGW_BIN # another build, e.g. the commit before a change
  [[ -x $apigw_bin ]] || die "BENCH_APIGW_BIN=$apigw_bin is not executable"
else
  step "cargo build --release -p apigw"
  cargo build --release -p apigw
  apigw_bin=$target_dir/release/apigw
  [[ -x $apigw_bin ]] || die "$apigw_bin was not built"
fi

for var in "${!APIGW_@}"; do unset "$var"; done # no caller settings (e.g. APIGW_STORE) in the runs

work=$(mktemp -d)
data=${BENCH_KEEP:-$work/data}
rm -rf "$data"
mkdir -p "$data"
cleanup() { rm -rf "$work"; } # the helper stops the apigw processes it started
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cat >"$work/helper.py" <<'EOF'
import asyncio, atexit, json, os, socket, subprocess, sys, time

AUTH = ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/apigateway/aws4_request, "
        "SignedHeaders=host, Signature=0")
INTEGRATION = json.dumps({"integrationType": "HTTP_PROXY", "integrationUri": "https://example.com",
                          "integrationMethod": "ANY", "payloadFormatVersion": "1.0"}).encode()
PER_API = 300


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SystemExit(f"no VmRSS for pid {pid}")


def get_once(port, path="/v2/apis"):
    """One GET on a fresh connection: (status, body) or None when nothing answers."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {AUTH}\r\n"
                      "Connection: close\r\n\r\n".encode())
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    except OSError:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    if not head:
        return None
    return int(head.split(b" ", 2)[1]), body


def cpu_ms(pid):
    """CPU time the process's threads have run so far (schedstat, ns): unlike the wall time,
    it hardly moves with the machine's load."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            total += int(open(f"/proc/{pid}/task/{task}/schedstat").read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total / 1e6


def start(binary, port, data, log):
    """Spawns apigw; answers (process, ms from spawn to the first 200 on GET /v2/apis, CPU ms
    it had used by then)."""
    with open(log, "ab") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data],
                                stdout=subprocess.DEVNULL, stderr=err)
    atexit.register(lambda: proc.poll() is None and proc.kill())
    while True:
        r = get_once(port)
        if r is not None and r[0] == 200:
            return proc, (time.perf_counter() - t0) * 1000, cpu_ms(proc.pid)
        if proc.poll() is not None:
            raise SystemExit(f"apigw exited with {proc.returncode} before answering (see {log})")
        if time.perf_counter() - t0 > 60:
            proc.kill()
            raise SystemExit(f"apigw did not answer 200 on GET /v2/apis within 60 s (see {log})")
        time.sleep(0.0005)


def stop(proc):
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def request(reader, writer, method, path, body):
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {AUTH}\r\n"
                 f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def load(port, total, clients):
    """Creates ceil(total / 300) APIs, then `total` integrations, 300 per API (the last API
    takes the rest), over `clients` keep-alive connections."""
    apis_n = (total + PER_API - 1) // PER_API
    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(clients)]

    async def run(jobs):
        results = [None] * len(jobs)
        next_job = 0

        async def worker(conn):
            nonlocal next_job
            reader, writer = conn
            while next_job < len(jobs):
                i = next_job
                next_job += 1
                method, path, body = jobs[i]
                status, answer = await request(reader, writer, method, path, body)
                if status != 201:
                    raise SystemExit(f"{method} {path} answered {status}: {answer[:300]!r}")
                results[i] = answer

        await asyncio.gather(*(worker(c) for c in conns))
        return results

    t0 = time.perf_counter()
    answers = await run([("POST", "/v2/apis", json.dumps({"name": f"scale-{i}", "protocolType": "HTTP"}).encode())
                         for i in range(apis_n)])
    apis = [json.loads(a)["apiId"] for a in answers]
    jobs = [("POST", f"/v2/apis/{apis[i // PER_API]}/integrations", INTEGRATION) for i in range(total)]
    # Spread the clients over the APIs, as independent clients would be.
    jobs.sort(key=lambda j: hash(j[1]))
    t1 = time.perf_counter()
    await run(jobs)
    t2 = time.perf_counter()
    for _, writer in conns:
        writer.close()
    return apis, t1 - t0, t2 - t1


def check(port, apis, total):
    """Every API and integration answers after the restart."""
    seen, token = set(), None
    while True:
        path = "/v2/apis?maxResults=500" + (f"&nextToken={token}" if token else "")
        status, body = get_once(port, path)
        page = json.loads(body)
        seen.update(a["apiId"] for a in page.get("items", []))
        token = page.get("nextToken")
        if not token:
            break
    missing = set(apis) - seen
    if missing:
        raise SystemExit(f"{len(missing)} APIs missing after the restart")
    count = 0
    for api in apis:
        status, body = get_once(port, f"/v2/apis/{api}/integrations?maxResults=500")
        if status != 200:
            raise SystemExit(f"GetIntegrations of {api} answered {status}")
        count += len(json.loads(body)["items"])
    if count != total:
        raise SystemExit(f"{count} integrations after the restart, {total} stored")


def main():
    binary, data, work, total, clients, restarts, settle = sys.argv[1:8]
    total, clients, restarts, settle = int(total), int(clients), int(restarts), float(settle)
    log = f"{work}/apigw.log"
    port = free_port()
    proc, first_ms, _ = start(binary, port, data, log)
    time.sleep(settle)
    idle = rss_kib(proc.pid)
    print(f"  empty data dir: first 200 after {first_ms:.1f} ms; RSS idle {idle / 1024:.1f} MiB", flush=True)
    apis, t_apis, t_int = asyncio.run(load(port, total, clients))
    print(f"  stored {len(apis)} APIs in {t_apis:.1f} s and {total:,} integrations in {t_int:.1f} s "
          f"({total / t_int:,.0f}/s, {clients} clients)", flush=True)
    time.sleep(settle)
    loaded = rss_kib(proc.pid)
    print(f"  RSS with them: {loaded / 1024:.1f} MiB", flush=True)
    stop(proc)
    db = sum(os.path.getsize(os.path.join(data, f)) for f in os.listdir(data)
             if f.startswith("state.db"))
    print(f"  state.db (+ WAL): {db / 2**20:.1f} MiB")
    times, after, cpus = [], [], []
    for n in range(restarts):
        port = free_port()
        proc, ms, cpu = start(binary, port, data, log)
        time.sleep(settle)
        rss = rss_kib(proc.pid)
        if n == 0:
            check(port, apis, total)
        stop(proc)
        times.append(ms)
        after.append(rss)
        cpus.append(cpu)
        print(f"  restart {n + 1}: first 200 after {ms:.1f} ms ({cpu:.1f} ms of CPU); "
              f"RSS idle {rss / 1024:.1f} MiB", flush=True)
    print(json.dumps({"idle_kib": idle, "loaded_kib": loaded, "restart_ms": times, "restart_kib": after,
                      "restart_cpu_ms": cpus,
                      "integrations": total, "db_bytes": db}), file=open(f"{work}/result.json", "w"))


def summary(path):
    r = json.load(open(path))
    times = sorted(r["restart_ms"])
    median_ms = times[len(times) // 2]
    after = sorted(r["restart_kib"])[len(r["restart_kib"]) // 2]
    idle, loaded = r["idle_kib"] / 1024, r["loaded_kib"] / 1024
    growth = (r["loaded_kib"] - r["idle_kib"]) / 1024 * 100_000 / r["integrations"]
    verdict = lambda ok: "met" if ok else "MISSED"
    print(f"RSS idle, empty data dir          {idle:8.1f} MiB   target < 15 MiB: {verdict(idle < 15)}")
    print(f"RSS growth per 100,000            {growth:8.1f} MiB   target <= 40 MiB: {verdict(growth <= 40)}"
          f"   ({idle:.1f} -> {loaded:.1f} MiB for {r['integrations']:,})")
    cpu = sorted(r["restart_cpu_ms"])[len(r["restart_cpu_ms"]) // 2]
    print(f"restart to the first 200 (median) {median_ms:8.1f} ms    target < 300 ms: {verdict(median_ms < 300)}"
          f"   (runs: {', '.join(f'{t:.1f}' for t in r['restart_ms'])} ms; CPU used by then, median: "
          f"{cpu:.1f} ms)")
    print(f"RSS after the restart (median)    {after / 1024:8.1f} MiB   target <= {loaded:.1f} MiB (before): "
          f"{verdict(after <= r['loaded_kib'])}")


if __name__ == "__main__":
    if sys.argv[1] == "summary":
        summary(sys.argv[2])
    else:
        main()
EOF

step "apigw: empty start, $integrations integrations, $restarts restarts on the same data dir"
python3 "$work/helper.py" "$apigw_bin" "$data" "$work" "$integrations" "$clients" "$restarts" "$settle"

step "results ($(nproc) CPUs, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg))"
python3 "$work/helper.py" summary "$work/result.json"
mkdir -p "$target_dir/bench"
cp "$work/result.json" "$target_dir/bench/store-scale.json"
echo "raw results: $target_dir/bench/store-scale.json"

#!/usr/bin/env bash
# Control-plane benchmark: this server vs moto_server (PyPI moto[server]) vs fakecloud (when
# FAKECLOUD_BIN points at an installed binary), on this machine, loopback only.
#
#   bash bench/control-plane.sh
#
# For each server:
#   * start-up: time from spawning the process to the first 200 on GET /v2/apis (best of 5 runs,
#     polled every 0.5 ms), and RSS right after that first 200 (ps -o rss, median of the runs);
#   * GetIntegration and CreateIntegration (HTTP_PROXY): wrk -t2 -c16 -d10s, req/s, p50, p99 and
#     the number of non-2xx answers. CreateIntegration cycles through pre-created APIs so that no
#     API gets more than ~250 of them (AWS quota: 300 integrations per API).
#   * this server only: Cloud Control GetResource and CreateResource of an
#     AWS::ApiGatewayV2::Integration (same wrk settings; CreateResource cycles through fresh APIs the
#     same way). moto_server has no Cloud Control for this type, so these rows have no ratio.
# Then a table with each figure and its ratio to moto_server.
#
# Needs wrk and python3. Installs wrk with apt-get when missing (not in CI), moto[server] into
# target/bench-venv, and builds target/release/apigw. Takes a few minutes.
#
# With fakecloud, each apigw's GetIntegration and CreateIntegration rates are also given as a
# ratio to fakecloud's, against issue 14's targets (Get >= 2.5x, durable Create >= 1.2x with
# p99 <= 5 ms).
#
# Environment: FAKECLOUD_BIN, FAKECLOUD_ARGS (default "--addr 127.0.0.1:@PORT@"),
# BENCH_APIGW_BEFORE (another apigw binary, measured as apigw_before in the same run), BENCH_DURATION
# (wrk -d, seconds, default 10), BENCH_STARTUP_RUNS (5), BENCH_APIS (APIs for CreateIntegration;
# default: sized from the measured GetIntegration rate), CARGO_TARGET_DIR.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
target_dir=${CARGO_TARGET_DIR:-$root/target}
bench_venv=$target_dir/bench-venv
duration=${BENCH_DURATION:-10}
duration=${duration%s}
runs=${BENCH_STARTUP_RUNS:-5}
threads=2 connections=16
MOTO_SERVER_REQUIREMENT='moto[server]==5.2.5'
[[ $duration =~ ^[0-9]+$ && $runs =~ ^[0-9]+$ ]] || { echo "BENCH_DURATION and BENCH_STARTUP_RUNS must be integers" >&2; exit 2; }

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }

# --- tools -------------------------------------------------------------------------------------
command -v python3 >/dev/null || die "python3 is required"
if ! command -v wrk >/dev/null; then
  if [[ ${CI:-} != true && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk
  else
    die "wrk is required (Debian: apt-get install wrk)"
  fi
fi

step "cargo build --release -p apigw"
cargo build --release -p apigw
apigw_bin=$target_dir/release/apigw
[[ -x $apigw_bin ]] || die "$apigw_bin was not built"

if [[ ! -x $bench_venv/bin/moto_server ]]; then
  step "moto_server into $bench_venv"
  python3 -m venv "$bench_venv"
  "$bench_venv/bin/python" -m pip install --quiet --disable-pip-version-check "$MOTO_SERVER_REQUIREMENT"
fi

for var in "${!APIGW_@}"; do unset "$var"; done # no caller settings (e.g. APIGW_STORE) in the runs

# --- servers -----------------------------------------------------------------------------------
# Command templates; @PORT@ and @DATA@ are replaced for every start. Used through `declare -n`.
names=(apigw moto_server)
# shellcheck disable=SC2034
cmd_apigw=("$apigw_bin" serve --listen 127.0.0.1:@PORT@ --data-dir @DATA@)
# shellcheck disable=SC2034
cmd_moto_server=("$bench_venv/bin/moto_server" -H 127.0.0.1 -p @PORT@)
if [[ -n ${BENCH_APIGW_BEFORE:-} ]]; then
  # Another apigw build (e.g. the commit before a change), measured in the same run.
  [[ -x $BENCH_APIGW_BEFORE ]] || die "BENCH_APIGW_BEFORE=$BENCH_APIGW_BEFORE is not executable"
  # shellcheck disable=SC2034
  cmd_apigw_before=("$BENCH_APIGW_BEFORE" serve --listen 127.0.0.1:@PORT@ --data-dir @DATA@)
  names+=(apigw_before)
fi
if [[ -n ${FAKECLOUD_BIN:-} ]]; then
  [[ -x $FAKECLOUD_BIN ]] || die "FAKECLOUD_BIN=$FAKECLOUD_BIN is not executable"
  read -r -a fakecloud_args <<<"${FAKECLOUD_ARGS:---addr 127.0.0.1:@PORT@}"
  # shellcheck disable=SC2034
  cmd_fakecloud=("$FAKECLOUD_BIN" "${fakecloud_args[@]}")
  names+=(fakecloud)
fi

work=$(mktemp -d)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- helper (python3, standard library only) ---------------------------------------------------
cat >"$work/helper.py" <<'EOF'
import concurrent.futures, http.client, json, math, os, socket, statistics, subprocess, sys, tempfile, threading, time

AUTH = ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/apigateway/aws4_request, "
        "SignedHeaders=host, Signature=0")
HEADERS = {"Authorization": AUTH, "Content-Type": "application/json"}
INTEGRATION = {"integrationType": "HTTP_PROXY", "integrationUri": "https://example.com",
               "integrationMethod": "ANY", "payloadFormatVersion": "1.0"}
CC_TYPE = "AWS::ApiGatewayV2::Integration"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path, body=None, conn=None):
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=HEADERS)
    r = c.getresponse()
    data = r.read()
    if conn is None:
        c.close()
    return r.status, data


def poll_200(port, proc, deadline):
    while True:
        try:
            if call(port, "GET", "/v2/apis")[0] == 200:
                return True
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            return False
        if time.perf_counter() > deadline:
            return False
        time.sleep(0.0005)


def expand(template, port, data):
    return [a.replace("@PORT@", str(port)).replace("@DATA@", data) for a in template]


def startup(runs, log, template):
    times, rss = [], []
    for _ in range(runs):
        port = free_port()
        with tempfile.TemporaryDirectory() as data, open(log, "ab") as err:
            argv = expand(template, port, data)
            t0 = time.perf_counter()
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
            try:
                if not poll_200(port, proc, t0 + 30):
                    sys.exit(f"no 200 on GET /v2/apis from {' '.join(argv)} (see {log})")
                times.append((time.perf_counter() - t0) * 1000)
                out = subprocess.run(["ps", "-o", "rss=", "-p", str(proc.pid)], capture_output=True, text=True)
                rss.append(int(out.stdout.strip()))
            finally:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    print(json.dumps({"startup_ms": min(times), "startup_runs_ms": [round(t, 2) for t in times],
                      "rss_kib": statistics.median(rss)}))


def wait(port, pid):
    if not poll_200(port, None, time.perf_counter() + 30):
        sys.exit(f"server on port {port} (pid {pid}) did not answer 200 on GET /v2/apis")


def create_api(port, name, conn=None):
    status, data = call(port, "POST", "/v2/apis", {"name": name, "protocolType": "HTTP"}, conn)
    if status not in (200, 201):
        sys.exit(f"CreateApi answered {status}: {data[:300]!r}")
    return json.loads(data)["apiId"]


def setup_get(port):
    api = create_api(port, "bench-get")
    status, data = call(port, "POST", f"/v2/apis/{api}/integrations", INTEGRATION)
    if status not in (200, 201):
        sys.exit(f"CreateIntegration answered {status}: {data[:300]!r}")
    path = f"/v2/apis/{api}/integrations/{json.loads(data)['integrationId']}"
    status, data = call(port, "GET", path)
    if status != 200:
        sys.exit(f"GetIntegration answered {status}: {data[:300]!r}")
    print(path)


def cc_call(port, target, body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", "/", body=json.dumps(body), headers={
        "Authorization": AUTH, "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": f"CloudApiService.{target}"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def setup_cc_get(port):
    api = create_api(port, "bench-cc-get")
    desired = {"ApiId": api, **{k[0].upper() + k[1:]: v for k, v in INTEGRATION.items()}}
    status, data = cc_call(port, "CreateResource", {"TypeName": CC_TYPE, "DesiredState": json.dumps(desired)})
    event = json.loads(data).get("ProgressEvent", {}) if status == 200 else {}
    if event.get("OperationStatus") != "SUCCESS":
        sys.exit(f"CreateResource answered {status}: {data[:300]!r}")
    status, data = cc_call(port, "GetResource", {"TypeName": CC_TYPE, "Identifier": event["Identifier"]})
    if status != 200:
        sys.exit(f"GetResource answered {status}: {data[:300]!r}")
    print(event["Identifier"])


def setup_create(port, count, out):
    local = threading.local()

    def one(i):
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            return create_api(port, f"bench-{i}", local.conn)
        except (OSError, http.client.HTTPException):
            local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            return create_api(port, f"bench-{i}", local.conn)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(one, range(count)))
    with open(out, "w") as f:
        f.write("\n".join(ids) + "\n")


def parse_wrk(path):
    for line in open(path):
        if line.startswith("BENCH "):
            r = {k: int(v) for k, v in (kv.split("=") for kv in line.split()[1:])}
            r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
            return r
    sys.exit(f"no BENCH line in {path}")


def apis_needed(get_json, seconds):
    rps = json.loads(open(get_json).read())["rps"]
    return max(4, math.ceil(rps * seconds / 250) + 4)


def table(results_path, threads, connections, seconds):
    rows = [json.loads(line) for line in open(results_path)]
    names = [r["server"] for r in rows]
    by = {r["server"]: r for r in rows}
    moto = by.get("moto_server")

    def fmt_ms(v):
        return f"{v:.1f} ms" if v >= 10 else f"{v:.2f} ms"

    metrics = [
        ("start-up to first 200 (best)", lambda r: r["startup_ms"], fmt_ms, "lower"),
        ("RSS after start", lambda r: r["rss_kib"] / 1024, lambda v: f"{v:.1f} MiB", "lower"),
    ]
    for op, label in (("get", "GetIntegration"), ("create", "CreateIntegration")):
        metrics += [
            (f"{label} req/s", lambda r, op=op: r[op]["rps"], lambda v: f"{v:,.0f}", "higher"),
            (f"{label} p50", lambda r, op=op: r[op]["p50_us"] / 1000, fmt_ms, "lower"),
            (f"{label} p99", lambda r, op=op: r[op]["p99_us"] / 1000, fmt_ms, "lower"),
            (f"{label} non-2xx / socket errors",
             lambda r, op=op: (r[op]["non2xx"], r[op]["socket_errors"]), lambda v: f"{v[0]} / {v[1]}", None),
        ]
    width = 26
    print(f"wrk -t{threads} -c{connections} -d{seconds}s on 127.0.0.1; ratio = how many times better than moto_server")
    print(f"{'':38}" + "".join(f"{n:>{width}}" for n in names))
    for title, get, fmt, better in metrics:
        cells = []
        for n in names:
            v = get(by[n])
            cell = fmt(v)
            if better and moto is not None and n != "moto_server":
                m = get(moto)
                ratio = (v / m if better == "higher" else m / v) if v and m else float("nan")
                cell += f" ({ratio:,.1f}x)"
            cells.append(cell)
        print(f"{title:38}" + "".join(f"{c:>{width}}" for c in cells))
    cc_rows = [r for r in rows if "cc_get" in r]
    if cc_rows:
        print(f"Cloud Control, {CC_TYPE} (this server only: moto_server has no Cloud Control for this type)")
        for r in cc_rows:
            for op, label in (("cc_get", "GetResource"), ("cc_create", "CreateResource")):
                x = r[op]
                print(f"  {r['server']} {label:15} {x['rps']:>10,.0f} req/s   p50 {fmt_ms(x['p50_us'] / 1000):>9}"
                      f"   p99 {fmt_ms(x['p99_us'] / 1000):>9}   non-2xx / socket errors / FAILED events "
                      f"{x['non2xx']} / {x['socket_errors']} / {x.get('failed', 0)}")
    fake = by.get("fakecloud")
    if fake is not None:
        for r in rows:
            if not r["server"].startswith("apigw"):
                continue
            get_x = r["get"]["rps"] / fake["get"]["rps"]
            create_x = r["create"]["rps"] / fake["create"]["rps"]
            p99 = r["create"]["p99_us"] / 1000
            verdict = lambda ok: "met" if ok else "MISSED"
            print(f"  {r['server']} vs fakecloud: GetIntegration {get_x:.2f}x (target >= 2.5x: "
                  f"{verdict(get_x >= 2.5)}); CreateIntegration {create_x:.2f}x, p99 {p99:.2f} ms "
                  f"(target >= 1.2x, p99 <= 5 ms: {verdict(create_x >= 1.2 and p99 <= 5)})")
    for r in rows:
        runs = ", ".join(f"{t:g}" for t in r["startup_runs_ms"])
        print(f"  {r['server']}: start-up runs (ms): {runs}; CreateIntegration spread over {r['create_apis']} APIs")
    for r in rows:
        ops = (("get", "GetIntegration"), ("create", "CreateIntegration"),
               ("cc_get", "GetResource"), ("cc_create", "CreateResource"))
        for op, label in ((op, label) for op, label in ops if op in r):
            bad = r[op]["non2xx"] + r[op]["socket_errors"] + r[op].get("failed", 0)
            if bad:
                print(f"  WARNING: {r['server']} {label}: {bad} of {r[op]['requests']} requests were not 2xx "
                      "answers; its req/s and latencies include them")


cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "free-port":
    print(free_port())
elif cmd == "startup":
    startup(int(args[0]), args[1], args[2:])
elif cmd == "wait":
    wait(int(args[0]), args[1])
elif cmd == "setup-get":
    setup_get(int(args[0]))
elif cmd == "setup-cc-get":
    setup_cc_get(int(args[0]))
elif cmd == "setup-create":
    setup_create(int(args[0]), int(args[1]), args[2])
elif cmd == "parse-wrk":
    print(json.dumps(parse_wrk(args[0])))
elif cmd == "show-startup":
    r = json.load(open(args[0]))
    runs = ", ".join(f"{t:g}" for t in r["startup_runs_ms"])
    print(f"  {args[1]}: first 200 after {r['startup_ms']:.2f} ms (best; runs: {runs} ms), "
          f"RSS {r['rss_kib'] / 1024:.1f} MiB")
elif cmd == "show-wrk":
    r = json.load(open(args[0]))
    print(f"  {args[1]} {args[2]}: {r['rps']:,.0f} req/s, p50 {r['p50_us'] / 1000:.2f} ms, "
          f"p99 {r['p99_us'] / 1000:.2f} ms, non-2xx {r['non2xx']}, socket errors {r['socket_errors']}"
          + (f", FAILED events {r['failed']}" if r.get("failed") else ""))
elif cmd == "apis-needed":
    print(apis_needed(args[0], int(args[1])))
elif cmd == "table":
    table(args[0], *args[1:])
else:
    sys.exit(f"unknown helper command {cmd}")
EOF
helper() { python3 "$work/helper.py" "$@"; }

run_wrk() { # name op port out-prefix [env...]
  local name=$1 op=$2 port=$3 out=$4
  shift 4
  env BENCH_OP="$op" BENCH_THREADS=$threads "$@" \
    wrk -t"$threads" -c"$connections" -d"${duration}s" --timeout 5s -s bench/control-plane.lua \
    "http://127.0.0.1:$port" >"$out.txt"
  helper parse-wrk "$out.txt" >"$out.json"
  helper show-wrk "$out.json" "$name" "$op"
}

results=$work/results.jsonl
for name in "${names[@]}"; do
  declare -n cmd="cmd_$name"
  log=$work/$name.log

  step "$name: start-up, best of $runs"
  helper startup "$runs" "$log" "${cmd[@]}" >"$work/$name-startup.json"
  helper show-startup "$work/$name-startup.json" "$name"

  step "$name: GetIntegration and CreateIntegration (wrk -t$threads -c$connections -d${duration}s)"
  port=$(helper free-port)
  data=$(mktemp -d "$work/data.XXXXXX")
  argv=("${cmd[@]//@PORT@/$port}")
  argv=("${argv[@]//@DATA@/$data}")
  "${argv[@]}" >/dev/null 2>>"$log" &
  pid=$!
  pids+=("$pid")
  helper wait "$port" "$pid"

  get_path=$(helper setup-get "$port")
  run_wrk "$name" get "$port" "$work/$name-get" BENCH_PATH="$get_path"

  apis=${BENCH_APIS:-$(helper apis-needed "$work/$name-get.json" "$duration")}
  echo "  creating $apis APIs for CreateIntegration"
  helper setup-create "$port" "$apis" "$work/$name-apis.txt"
  run_wrk "$name" create "$port" "$work/$name-create" BENCH_API_IDS="$work/$name-apis.txt"

  cc_results=()
  if [[ $name == apigw ]]; then
    step "$name: Cloud Control GetResource and CreateResource of AWS::ApiGatewayV2::Integration"
    identifier=$(helper setup-cc-get "$port")
    run_wrk "$name" cc-get "$port" "$work/$name-cc-get" BENCH_IDENTIFIER="$identifier"
    cc_apis=${BENCH_APIS:-$(helper apis-needed "$work/$name-cc-get.json" "$duration")}
    echo "  creating $cc_apis APIs for CreateResource"
    helper setup-create "$port" "$cc_apis" "$work/$name-cc-apis.txt"
    run_wrk "$name" cc-create "$port" "$work/$name-cc-create" BENCH_API_IDS="$work/$name-cc-apis.txt"
    cc_results=("$work/$name-cc-get.json" "$work/$name-cc-create.json")
  fi

  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true

  python3 - "$name" "$apis" "$work/$name-startup.json" "$work/$name-get.json" "$work/$name-create.json" \
    "${cc_results[@]}" >>"$results" <<'EOF'
import json, sys
name, apis, startup, get, create, *cc = sys.argv[1:]
row = {"server": name, "create_apis": int(apis), **json.load(open(startup)),
       "get": json.load(open(get)), "create": json.load(open(create))}
if cc:
    row["cc_get"], row["cc_create"] = json.load(open(cc[0])), json.load(open(cc[1]))
print(json.dumps(row))
EOF
  unset -n cmd
done

step "results ($(nproc) CPUs, $(uname -sr))"
helper table "$results" "$threads" "$connections" "$duration"
mkdir -p "$target_dir/bench"
cp "$results" "$target_dir/bench/control-plane.jsonl"
echo "raw results: $target_dir/bench/control-plane.jsonl"

-- wrk script for bench/control-plane.sh.
--   BENCH_OP=get    BENCH_PATH=/v2/apis/{id}/integrations/{iid}   GetIntegration on one integration
--   BENCH_OP=create BENCH_API_IDS=<file, one api id per line> BENCH_THREADS=<wrk -t>
--                   CreateIntegration (HTTP_PROXY); every thread cycles through its share of the
--                   pre-created APIs so that no API reaches the 300-integrations quota.
-- done() prints one machine-readable line: BENCH requests=... p50_us=... p99_us=... non2xx=...

local op = os.getenv("BENCH_OP") or "get"
local auth = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/apigateway/aws4_request, "
  .. "SignedHeaders=host, Signature=0"
local body = '{"integrationType":"HTTP_PROXY","integrationUri":"https://example.com",'
  .. '"integrationMethod":"ANY","payloadFormatVersion":"1.0"}'

local next_tid = 0
function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end

local requests = {}
local n = 0
function init(args)
  wrk.headers["Authorization"] = auth
  if op == "create" then
    wrk.headers["Content-Type"] = "application/json"
    local threads = tonumber(os.getenv("BENCH_THREADS") or "1")
    local i = 0
    for id in io.lines(os.getenv("BENCH_API_IDS")) do
      if id ~= "" then
        if i % threads == tid then
          table.insert(requests, wrk.format("POST", "/v2/apis/" .. id .. "/integrations", nil, body))
        end
        i = i + 1
      end
    end
  else
    table.insert(requests, wrk.format("GET", os.getenv("BENCH_PATH")))
  end
  if #requests == 0 then
    error("bench/control-plane.lua: nothing to request")
  end
end

function request()
  n = n % #requests + 1
  return requests[n]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d non2xx=%d socket_errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end

-- wrk script for bench/control-plane.sh.
--   BENCH_OP=get    BENCH_PATH=/v2/apis/{id}/integrations/{iid}   GetIntegration on one integration
--   BENCH_OP=create BENCH_API_IDS=<file, one api id per line> BENCH_THREADS=<wrk -t>
--                   CreateIntegration (HTTP_PROXY); every thread cycles through its share of the
--                   pre-created APIs so that no API reaches the 300-integrations quota.
--   BENCH_OP=cc-get    BENCH_IDENTIFIER=<apiId|integrationId>
--                      Cloud Control GetResource of one AWS::ApiGatewayV2::Integration
--   BENCH_OP=cc-create BENCH_API_IDS=<file> BENCH_THREADS=<wrk -t>
--                      Cloud Control CreateResource of an HTTP_PROXY AWS::ApiGatewayV2::Integration,
--                      cycling through the APIs like `create`; answers are 200 even when the
--                      request FAILED, so those ProgressEvents are counted (failed=...).
-- done() prints one machine-readable line: BENCH requests=... p50_us=... p99_us=... non2xx=...

local op = os.getenv("BENCH_OP") or "get"
local auth = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/apigateway/aws4_request, "
  .. "SignedHeaders=host, Signature=0"
local body = '{"integrationType":"HTTP_PROXY","integrationUri":"https://example.com",'
  .. '"integrationMethod":"ANY","payloadFormatVersion":"1.0"}'

local cc_type = "AWS::ApiGatewayV2::Integration"

local next_tid = 0
local threads = {}
function setup(thread)
  thread:set("tid", next_tid)
  thread:set("failed", 0)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

-- JSON string literal of s (the DesiredState is a JSON document inside a JSON string).
local function quote(s)
  return '"' .. s:gsub('[\\"]', '\\%0') .. '"'
end

local requests = {}
local n = 0
function init(args)
  wrk.headers["Authorization"] = auth
  if op == "cc-get" or op == "cc-create" then
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/x-amz-json-1.0"
  end
  if op == "cc-get" then
    wrk.headers["X-Amz-Target"] = "CloudApiService.GetResource"
    local b = '{"TypeName":"' .. cc_type .. '","Identifier":"' .. os.getenv("BENCH_IDENTIFIER") .. '"}'
    table.insert(requests, wrk.format("POST", "/", nil, b))
  elseif op == "cc-create" then
    wrk.headers["X-Amz-Target"] = "CloudApiService.CreateResource"
    local threads_n = tonumber(os.getenv("BENCH_THREADS") or "1")
    local i = 0
    for id in io.lines(os.getenv("BENCH_API_IDS")) do
      if id ~= "" then
        if i % threads_n == tid then
          local desired = '{"ApiId":"' .. id .. '","IntegrationType":"HTTP_PROXY",'
            .. '"IntegrationUri":"https://example.com","IntegrationMethod":"ANY",'
            .. '"PayloadFormatVersion":"1.0"}'
          local b = '{"TypeName":"' .. cc_type .. '","DesiredState":' .. quote(desired) .. '}'
          table.insert(requests, wrk.format("POST", "/", nil, b))
        end
        i = i + 1
      end
    end
  elseif op == "create" then
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

if op == "cc-create" then
  failed = 0
  function response(status, _, body)
    if status == 200 and body:find('"OperationStatus":"FAILED"', 1, true) then
      failed = failed + 1
    end
  end
end

function done(summary, latency, _)
  local e = summary.errors
  local failed_events = 0
  for _, t in ipairs(threads) do
    failed_events = failed_events + (tonumber(t:get("failed")) or 0)
  end
  io.write(string.format(
    "BENCH requests=%d duration_us=%d non2xx=%d socket_errors=%d p50_us=%d p99_us=%d failed=%d\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), failed_events))
end

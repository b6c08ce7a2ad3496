-- wrk script for .ci/load.py: a mix of list, detail and create requests.
-- Environment: LOAD_TOKEN (an editor's API token), LOAD_READ_TOKEN (another user's token for the
-- reads, default LOAD_TOKEN: with read replicas a writer's own reads go to the primary for a
-- few seconds), LOAD_CIDS (comma-separated customer ids),
-- LOAD_OIDS (comma-separated opportunity ids),
-- LOAD_MIX ("mixed", "list", "detail" or "create"), LOAD_DELAY_MS (pause before each request
-- on a connection, to hold a rate below the maximum).

local token = os.getenv("LOAD_TOKEN")
local mix = os.getenv("LOAD_MIX") or "mixed"
local delay_ms = tonumber(os.getenv("LOAD_DELAY_MS") or "0")
local cids = {}
for cid in string.gmatch(os.getenv("LOAD_CIDS") or "", "%d+") do
  cids[#cids + 1] = cid
end

local read_token = os.getenv("LOAD_READ_TOKEN") or token
if read_token == "" then read_token = token end
local read_headers = { ["Authorization"] = "Token " .. read_token, ["Accept"] = "application/json" }
local write_headers = {
  ["Authorization"] = "Token " .. token,
  ["Accept"] = "application/json",
  ["Content-Type"] = "application/json",
}
local oids = {}
for oid in string.gmatch(os.getenv("LOAD_OIDS") or "", "%x+") do
  oids[#oids + 1] = oid
end
local counter = 0

function setup(thread)
  thread:set("id", tostring(math.random(1, 1000000000)))
end

function init(args)
  math.randomseed(os.time() + tonumber(id or "0"))
end

local function list()
  return wrk.format("GET", "/api/opportunities?limit=20&offset=" .. math.random(0, 40), read_headers)
end

local function detail()
  return wrk.format("GET", "/api/opportunities/" .. oids[math.random(#oids)], read_headers)
end

local function create()
  counter = counter + 1
  local body = string.format(
    '{"cid": %s, "opportunity_name": "load-%s-%d", "product": "Payroll", "status": "Prospecting", '
      .. '"est_monthly_revenue": "1500.00", "expected_close_date": "2025-06-30"}',
    cids[math.random(#cids)], id or "0", counter)
  return wrk.format("POST", "/api/opportunities", write_headers, body)
end

function request()
  if mix == "list" then return list() end
  if mix == "detail" then return detail() end
  if mix == "create" then return create() end
  -- 40% list, 40% detail, 20% create: mostly reads, as in the CRM's daily use.
  local r = math.random(10)
  if r <= 4 then return list() end
  if r <= 8 then return detail() end
  return create()
end

function delay()
  return delay_ms
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'LOAD_RESULT {"requests": %d, "duration_us": %d, "connect_errors": %d, "read_errors": %d, '
      .. '"write_errors": %d, "timeouts": %d, "non_2xx": %d, "p50_us": %d, "p95_us": %d, '
      .. '"p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end

-- wrk script of the HTTP transfer benchmark (bench/http_transfer.py): every request is a
-- `bank:transfer` mutation between two distinct random accounts, through /api/mutation.
--
--   wrk -t2 -c50 -d10s -s transfer.lua URL -- <ids file> uniform|zipf [alpha]
--
-- The ids file has one account id a line. "zipf" draws accounts with P(rank k) ~ 1/k^alpha
-- (rank 1 is the first id): a few hot accounts take most transfers. Responses that are not
-- HTTP 200 with "status":"success" are counted and reported as BAD_RESPONSES.

local ids = {}
local cdf = nil
local count = 0
local threads = {}
errors = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      ids[#ids + 1] = line
    end
  end
  count = #ids
  -- each thread has its own Lua state: seed each differently
  math.randomseed(os.time() + tonumber(string.match(tostring({}), "0x(%x+)") or "0", 16) % 100000)
  if args[2] == "zipf" then
    local alpha = tonumber(args[3] or "1.5")
    cdf = {}
    local sum = 0
    for k = 1, count do
      sum = sum + 1 / (k ^ alpha)
      cdf[k] = sum
    end
    for k = 1, count do
      cdf[k] = cdf[k] / sum
    end
  end
end

local function pick()
  if cdf == nil then
    return math.random(count)
  end
  local u = math.random()
  local lo, hi = 1, count
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < u then
      lo = mid + 1
    else
      hi = mid
    end
  end
  return lo
end

local headers = { ["Content-Type"] = "application/json" }

function request()
  local a = pick()
  local b = pick()
  while b == a do
    b = pick()
  end
  local body = '{"path":"bank:transfer","args":{"from":"' .. ids[a] .. '","to":"' .. ids[b]
    .. '","amount":1},"format":"json"}'
  return wrk.format("POST", "/api/mutation", headers, body)
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"status":"success"', 1, true) then
    errors = errors + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("errors")
  end
  io.write(string.format("BAD_RESPONSES %d\n", bad))
end

-- wrk script for bench_surveys.py: each thread POSTs its own slice of single-use survey tokens, once each.
-- Args: <tokens file> <number of threads>. Prints one "RESULT ..." line per run for the Python side to parse.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local n = tonumber(args[2])
  tokens = {}
  local i = 0
  for line in io.lines(args[1]) do
    if i % n == id then
      tokens[#tokens + 1] = line
    end
    i = i + 1
  end
  pos = 0
  redirects = 0
  others = 0
  exhausted = 0
end

function request()
  pos = pos + 1
  local token = tokens[pos]
  if token == nil then
    -- Out of tokens: reuse the last one (a 410, counted as an error) so a too-long run shows, never hides.
    exhausted = exhausted + 1
    token = tokens[#tokens]
  end
  local body = "score=" .. (pos % 11) .. "&comment=Bench+answer."
  return wrk.format("POST", "/s/" .. token .. "/", { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end

function response(status, headers, body)
  if status == 302 then
    redirects = redirects + 1
  else
    others = others + 1
  end
end

function done(summary, latency, requests)
  local ok, bad, ex = 0, 0, 0
  for _, t in ipairs(threads) do
    ok = ok + t:get("redirects")
    bad = bad + t:get("others")
    ex = ex + t:get("exhausted")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d redirects=%d other_status=%d exhausted=%d connect=%d read=%d write=%d timeout=%d p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.duration, ok, bad, ex, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end

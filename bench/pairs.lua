-- wrk script: request-interaction + match-interaction pairs against `ringback serve`.
-- Each thread alternates: a request-interaction books an access number and code; its answer
-- queues a match-interaction for that number and code. Counts the pairs completed (match 200).
local queue = {}
local counter = 0
pairs_done = 0
failures = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + math.random(1, 100000))
end

function request()
  local item = table.remove(queue)
  if item then
    return wrk.format("POST", "/genesys/1/service/match-interaction",
      {["Content-Type"] = "application/x-www-form-urlencoded"},
      "_access_number=" .. item[1] .. "&_access_code=" .. item[2])
  end
  counter = counter + 1
  return wrk.format("POST", "/genesys/1/service/bench-ri",
    {["Content-Type"] = "application/x-www-form-urlencoded"},
    "_provide_code=true&_phone_number=650" .. string.format("%07d", counter % 10000000) .. "&firstname=Bench")
end

function response(status, headers, body)
  local number = string.match(body, '"_access_number":"(%d+)"')
  local code = string.match(body, '"_access_code":"(%d+)"')
  if number and code then
    table.insert(queue, {number, code})
  elseif status == 200 then
    pairs_done = pairs_done + 1
  else
    failures = failures + 1
  end
end

function done(summary, latency, requests)
  local total, failed = 0, 0
  for _, t in ipairs(threads) do
    total = total + (t:get("pairs_done") or 0)
    failed = failed + (t:get("failures") or 0)
  end
  local secs = summary.duration / 1e6
  io.write(string.format("PAIRS %d in %.1f s = %.0f pairs/s (failed requests: %d)\n", total, secs, total / secs, failed))
end

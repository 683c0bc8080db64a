-- webhook.lua: wrk posts signed Retell deliveries, round robin over a file of
-- "signature<TAB>body" lines written by bench/bench.py.
local deliveries = {}
local next_index = 0

function init(args)
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    deliveries[#deliveries + 1] = wrk.format("POST", nil, {
      ["Content-Type"] = "application/json",
      ["x-retell-signature"] = line:sub(1, tab - 1),
    }, line:sub(tab + 1))
  end
  -- threads start at different offsets so they do not post the same call at once
  next_index = math.random(#deliveries) - 1
end

function request()
  next_index = next_index % #deliveries + 1
  return deliveries[next_index]
end

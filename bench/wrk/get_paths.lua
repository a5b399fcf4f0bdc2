-- GET the paths listed in BENCH_PATHS (one a line), round robin, each thread from its own offset.
-- Env: BENCH_KEY (agent key).
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local key = os.getenv("BENCH_KEY")
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do
  table.insert(paths, line)
end
local i = 0

function request()
  i = i + 1
  local path = paths[1 + (id * 7919 + i) % #paths]
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. key })
end

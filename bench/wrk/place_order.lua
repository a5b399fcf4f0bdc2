-- POST /v1/orders with a fresh Idempotency-Key and channel_order_ref per request: orders of
-- BENCH_LINES lines (default 3), one unit each, as bench/payloads.py builds them.
-- Env: BENCH_KEY (channel key), BENCH_RUN (a prefix unique to this run), BENCH_SKUS,
-- BENCH_CASE: "spread" (distinct SKUs drawn at random from BENCH_SKUS) or "hot" (every order on
-- SKU-00001 … SKU-0000<lines>: a flash sale).
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local key = os.getenv("BENCH_KEY")
local run = os.getenv("BENCH_RUN") or tostring(os.time())
local skus = tonumber(os.getenv("BENCH_SKUS") or "1000")
local lines = tonumber(os.getenv("BENCH_LINES") or "3")
local case = os.getenv("BENCH_CASE") or "spread"
local counter = 0
local seeded = false

local head_format = '{"channel_order_ref":"%s","customer":{"email":"bench%d@example.com",' ..
  '"name":"Bench Customer"},"shipping_address":{"name":"Bench Customer","line1":' ..
  '"1 Harbour Street","city":"Berlin","postal_code":"10115","country":"DE"},"currency":"EUR",' ..
  '"lines":['
local line_format = '{"sku":"SKU-%05d","quantity":1,"unit_price":"19.99"}'
local tail_format = '],"payment":{"reference":"pay-%s","amount":"%.2f"}}'

-- The SKU numbers (1-based) of the next order.
local function pick()
  if case == "hot" then
    local out = {}
    for i = 1, lines do out[i] = i end
    return out
  end
  local out, taken = {}, {}
  while #out < lines do
    local n = math.random(1, skus)
    if not taken[n] then
      taken[n] = true
      table.insert(out, n)
    end
  end
  return out
end

function request()
  if not seeded then -- `id` is set by setup() once the thread exists
    math.randomseed(os.time() * 1000 + id)
    seeded = true
  end
  counter = counter + 1
  local ref = string.format("%s-%d-%d", run, id, counter)
  local n = id * 1000003 + counter
  local parts = {}
  for i, s in ipairs(pick()) do parts[i] = string.format(line_format, s) end
  local body = string.format(head_format, ref, n % 5000) .. table.concat(parts, ",") ..
    string.format(tail_format, ref, 19.99 * lines)
  return wrk.format("POST", "/v1/orders", {
    ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = ref,
  }, body)
end

-- POST /v1/orders with a fresh Idempotency-Key and channel_order_ref per request.
-- Env: BENCH_KEY (channel key), BENCH_RUN (a prefix unique to this run), BENCH_SKUS.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local key = os.getenv("BENCH_KEY")
local run = os.getenv("BENCH_RUN") or tostring(os.time())
local skus = tonumber(os.getenv("BENCH_SKUS") or "1000")
local counter = 0

local body_format = '{"channel_order_ref":"%s","customer":{"email":"bench%d@example.com",' ..
  '"name":"Bench Customer"},"shipping_address":{"name":"Bench Customer","line1":' ..
  '"1 Harbour Street","city":"Berlin","postal_code":"10115","country":"DE"},"currency":"EUR",' ..
  '"lines":[{"sku":"SKU-%05d","quantity":1,"unit_price":"19.99"}],' ..
  '"payment":{"reference":"pay-%s","amount":"19.99"}}'

function request()
  counter = counter + 1
  local ref = string.format("%s-%d-%d", run, id, counter)
  local n = id * 1000003 + counter
  local body = string.format(body_format, ref, n % 5000, 1 + n % skus, ref)
  return wrk.format("POST", "/v1/orders", {
    ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = ref,
  }, body)
end

-- POSTs the same JSON body on every request: init(args) reads it from the file named by the
-- first argument after `--`, so the body (a ~2 KB email) is built once by the TypeScript side
-- and both the product and the baselines receive exactly the same bytes.
-- Usage: wrk -s post-json.lua URL -- /path/to/body.json
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function init(args)
  local file = assert(io.open(args[1], "rb"), "post-json.lua: pass the body file after --")
  wrk.body = file:read("*a")
  file:close()
end

-- health_lua_vm.lua -- the same typical health script under two Lua 5.1 VMs (issue 16):
-- `lua5.1 bench/health_lua_vm.lua` (PUC, what gitfleet embeds) and `luajit bench/health_lua_vm.lua`
-- (with and without -joff). Builds the object table afresh per run, as the agent converts a
-- live object before each run, then runs the script on it. Prints microseconds per object.
local n = tonumber(arg and arg[1]) or 200000

local function make_obj(i)
  return {
    apiVersion = "cert-manager.io/v1", kind = "Certificate",
    metadata = {name = "web-tls", namespace = "shop", generation = 3, resourceVersion = tostring(i),
                labels = {["app.kubernetes.io/name"] = "web", ["gitfleet.io/app"] = "web"}},
    spec = {secretName = "web-tls", dnsNames = {"shop.example.com", "www.shop.example.com"},
            issuerRef = {name = "letsencrypt", kind = "ClusterIssuer"}},
    status = {observedGeneration = 3, conditions = {
      {type = "Issuing", status = "False", reason = "Issued", message = "issued"},
      {type = "Ready", status = "True", reason = "Ready", message = "Certificate is up to date"}}},
  }
end

local script = loadstring([[
local hs = {}
if obj.status ~= nil and obj.status.conditions ~= nil then
  for i, condition in ipairs(obj.status.conditions) do
    if condition.type == 'Ready' and condition.status == 'True' then
      hs.status = 'Healthy'
      hs.message = condition.message
      return hs
    end
  end
end
hs.status = 'Progressing'
hs.message = 'Waiting for certificate'
return hs
]])

local t0 = os.clock()
local healthy = 0
for i = 1, n do
  local env = {ipairs = ipairs, obj = make_obj(i)}
  setfenv(script, env)
  if script().status == "Healthy" then healthy = healthy + 1 end
end
local dt = os.clock() - t0
print(string.format("%s: %.2f us per object (%d healthy)", _VERSION .. (jit and (" " .. jit.version .. (jit.status() and " jit on" or " jit off")) or ""), dt / n * 1e6, healthy))

/* healthlua_test.c -- the Lua health runtime: Argo CD's script API, budgets, isolation */
#include "harness.h"

#include "healthlua.h"
#include "gitfleet/error.h"
#include "gitfleet/yaml_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static json_t *object(const char *yaml)
{
    json_t *doc = NULL;

    if (gf_yaml_parse_one(&doc, yaml, strlen(yaml), "test", NULL) < 0)
        gf_test_fail(__FILE__, __LINE__, "%s", gf_error_last());
    return doc;
}

/* Run `script` on `yaml` with a small budget; "Status: message" ("None"
 * when the script gives no health). The result is static. */
static const char *run_on(agent_healthlua *rt, const char *script, int open_libs, const char *yaml)
{
    static char buf[1024];
    struct agent_health h = {0};
    json_t *obj = object(yaml);

    GF_ASSERT_INT(agent_healthlua_run(rt, &h, script, strlen(script), open_libs, obj), 0);
    snprintf(buf, sizeof(buf), "%s: %s",
             h.status == AGENT_HEALTH_NONE ? "None" : agent_health_status_name(h.status),
             h.message);
    agent_health_clear(&h);
    json_decref(obj);
    return buf;
}

static agent_healthlua *runtime(void)
{
    struct agent_healthlua_budget b = {.memory_bytes = 4 << 20, .timeout_ms = 200};
    agent_healthlua *rt = NULL;

    GF_ASSERT_INT(agent_healthlua_new(&rt, &b), 0);
    return rt;
}

static const char *const CERT = "apiVersion: cert-manager.io/v1\n"
                                "kind: Certificate\n"
                                "metadata: {name: web, generation: 3}\n"
                                "status:\n"
                                "  observedGeneration: 3\n"
                                "  conditions:\n"
                                "  - {type: Issuing, status: 'False'}\n"
                                "  - {type: Ready, status: 'True', message: cert is up to date}\n";

/* A script in the style of Argo CD's: loop over conditions, return a table. */
static const char *const READY = "local hs = {}\n"
                                 "if obj.status ~= nil and obj.status.conditions ~= nil then\n"
                                 "  for i, c in ipairs(obj.status.conditions) do\n"
                                 "    if c.type == 'Ready' and c.status == 'True' then\n"
                                 "      hs.status = 'Healthy'\n"
                                 "      hs.message = c.message\n"
                                 "      return hs\n"
                                 "    end\n"
                                 "  end\n"
                                 "end\n"
                                 "hs.status = 'Progressing'\n"
                                 "hs.message = 'Waiting for certificate'\n"
                                 "return hs\n";

static void test_healthlua__status_and_message(void)
{
    agent_healthlua *rt = runtime();

    GF_ASSERT_STR(run_on(rt, READY, 0, CERT), "Healthy: cert is up to date");
    GF_ASSERT_STR(run_on(rt, READY, 0, "kind: Certificate\n"),
                  "Progressing: Waiting for certificate");
    /* every status Argo CD accepts, and no message */
    GF_ASSERT_STR(run_on(rt, "return {status='Suspended'}", 0, "{}"), "Suspended: ");
    GF_ASSERT_STR(run_on(rt, "return {status='Missing', message='gone'}", 0, "{}"),
                  "Missing: gone");
    GF_ASSERT_STR(run_on(rt, "return {status='Degraded', message='x'}", 0, "{}"), "Degraded: x");
    GF_ASSERT_STR(run_on(rt, "return {status='Unknown', message='?'}", 0, "{}"), "Unknown: ?");
    /* Go's decoder matches field names case-insensitively */
    GF_ASSERT_STR(run_on(rt, "return {Status='Healthy', MESSAGE='up'}", 0, "{}"), "Healthy: up");
    /* several values returned: Argo CD reads the last one */
    GF_ASSERT_STR(run_on(rt, "return 1, {status='Healthy'}", 0, "{}"), "Healthy: ");
    agent_healthlua_free(rt);
}

static void test_healthlua__nested_fields_and_arrays(void)
{
    agent_healthlua *rt = runtime();
    const char *obj = "spec:\n"
                      "  replicas: 3\n"
                      "  ratio: 0.5\n"
                      "  paused: false\n"
                      "  template: {metadata: {labels: {app: web}}}\n"
                      "  list: [a, null, c]\n"
                      "  empty: {}\n"
                      "  gone: null\n";

    GF_ASSERT_STR(run_on(rt,
                         "return {status='Healthy', message=obj.spec.template.metadata.labels.app "
                         ".. ' ' .. tostring(obj.spec.replicas + 1) .. ' ' .. "
                         "tostring(obj.spec.ratio) .. ' ' .. tostring(obj.spec.paused)}",
                         0, obj),
                  "Healthy: web 4 0.5 false");
    /* arrays are 1-based; a null element is dropped, as gopher-lua's Append does */
    GF_ASSERT_STR(run_on(rt,
                         "return {status='Healthy', message=obj.spec.list[1] .. obj.spec.list[2] "
                         ".. #obj.spec.list .. tostring(obj.spec.list[0])}",
                         0, obj),
                  "Healthy: ac2nil");
    /* a null field is absent; an empty object is an empty table */
    GF_ASSERT_STR(run_on(rt,
                         "return {status='Healthy', message=tostring(obj.spec.gone) .. "
                         "tostring(next(obj.spec.empty))}",
                         0, obj),
                  "Healthy: nilnil");
    /* table, string and math libraries */
    GF_ASSERT_STR(run_on(rt,
                         "local t = {} table.insert(t, string.upper('a')) "
                         "table.insert(t, string.format('%d', math.floor(2.7))) "
                         "return {status='Healthy', message=table.concat(t, ',') .. "
                         "('x-y'):gsub('-', '+')}",
                         0, "{}"),
                  "Healthy: A,2x+y");
    agent_healthlua_free(rt);
}

/* gopher-lua, and so Argo CD, accepts Lua 5.2's goto: several of Argo CD's
 * own scripts skip list items with `goto continue`. */
static void test_healthlua__goto_as_gopher_lua(void)
{
    agent_healthlua *rt = runtime();
    const char *script = "local ready = 0\n"
                         "for _, c in ipairs(obj.status.conditions) do\n"
                         "  if c.type ~= 'Ready' then\n"
                         "    goto continue\n"
                         "  end\n"
                         "  ready = ready + 1\n"
                         "  ::continue::\n"
                         "end\n"
                         "return {status = 'Healthy', message = ready .. ' ready'}\n";

    GF_ASSERT_STR(run_on(rt, script, 0, CERT), "Healthy: 1 ready");
    agent_healthlua_free(rt);
}

static void test_healthlua__missing_fields(void)
{
    agent_healthlua *rt = runtime();
    const char *script = "if obj.status == nil or obj.status.phase == nil then\n"
                         "  return {status='Progressing', message='no status yet'}\n"
                         "end\n"
                         "return {status='Healthy', message=obj.status.phase}\n";

    GF_ASSERT_STR(run_on(rt, script, 0, "kind: X\n"), "Progressing: no status yet");
    GF_ASSERT_STR(run_on(rt, script, 0, "status: {}\n"), "Progressing: no status yet");
    GF_ASSERT_STR(run_on(rt, script, 0, "status: {phase: Ready}\n"), "Healthy: Ready");
    /* indexing through a missing field is the script's error */
    GF_ASSERT_HAS(run_on(rt, "return {status=obj.status.phase}", 0, "kind: X\n"),
                  "Unknown: <string>:1: attempt to index field 'status'");
    agent_healthlua_free(rt);
}

static void test_healthlua__errors_become_unknown(void)
{
    agent_healthlua *rt = runtime();

    GF_ASSERT_STR(run_on(rt, "error('boom')", 0, "{}"), "Unknown: <string>:1: boom");
    GF_ASSERT_STR(run_on(rt, "error({})", 0, "{}"), "Unknown: error in health script");
    GF_ASSERT_HAS(run_on(rt, "return {status=", 0, "{}"), "Unknown: <string>:1:");
    GF_ASSERT_HAS(run_on(rt, "local x = nil; return x.y", 0, "{}"), "attempt to index local 'x'");
    GF_ASSERT_HAS(run_on(rt, "return {status='Healthy', message=1 .. {}}", 0, "{}"),
                  "attempt to concatenate");
    /* the same broken script again: the compile error is remembered */
    GF_ASSERT_HAS(run_on(rt, "return {status=", 0, "{}"), "Unknown: <string>:1:");
    agent_healthlua_free(rt);
}

static void test_healthlua__bad_returns(void)
{
    agent_healthlua *rt = runtime();

    GF_ASSERT_STR(run_on(rt, "return 'Healthy'", 0, "{}"),
                  "Unknown: expect table output from Lua script, not string");
    GF_ASSERT_STR(run_on(rt, "return 42", 0, "{}"),
                  "Unknown: expect table output from Lua script, not number");
    GF_ASSERT_STR(run_on(rt, "return {status='Great'}", 0, "{}"),
                  "Unknown: Lua returned an invalid health status");
    GF_ASSERT_STR(run_on(rt, "return {message='no status'}", 0, "{}"),
                  "Unknown: Lua returned an invalid health status");
    GF_ASSERT_HAS(
        run_on(rt, "return {status=1}", 0, "{}"),
        "Unknown: json: cannot unmarshal number into Go struct field HealthStatus.status");
    GF_ASSERT_HAS(run_on(rt, "return {status='Healthy', message=true}", 0, "{}"),
                  "Unknown: json: cannot unmarshal bool into Go struct field HealthStatus.message");
    GF_ASSERT_STR(run_on(rt, "return {status='Healthy', f=print}", 0, "{}"),
                  "Unknown: cannot encode function to JSON");
    /* no health: nil, nothing, an empty table, an array */
    GF_ASSERT_STR(run_on(rt, "return nil", 0, "{}"), "None: ");
    GF_ASSERT_STR(run_on(rt, "local x = 1", 0, "{}"), "None: ");
    GF_ASSERT_STR(run_on(rt, "return {}", 0, "{}"), "None: ");
    GF_ASSERT_STR(run_on(rt, "return {'Healthy'}", 0, "{}"), "None: ");
    agent_healthlua_free(rt);
}

static long long elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void test_healthlua__infinite_loop_is_stopped(void)
{
    agent_healthlua *rt = runtime();
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    GF_ASSERT_STR(run_on(rt, "while true do end", 0, "{}"),
                  "Unknown: health script exceeded its time budget (200 ms)");
    /* pcall cannot swallow the budget */
    GF_ASSERT_STR(run_on(rt, "while true do pcall(function() while true do end end) end", 0, "{}"),
                  "Unknown: health script exceeded its time budget (200 ms)");
    GF_ASSERT_STR(run_on(rt,
                         "local function f() return f() end "
                         "while true do pcall(f) xpcall(f, print) end",
                         1, "{}"),
                  "Unknown: health script exceeded its time budget (200 ms)");
    GF_ASSERT(elapsed_ms(&t0) < 3000);
    /* a script that ran out of time is not run again for a while: no stall
     * of its time budget per object */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 20; i++)
        GF_ASSERT_STR(run_on(rt, "while true do end", 0, "{}"),
                      "Unknown: health script exceeded its time budget (200 ms); not run again "
                      "for 30 s");
    GF_ASSERT(elapsed_ms(&t0) < 150);
    /* and the state still works afterwards */
    GF_ASSERT_STR(run_on(rt, "return {status='Healthy'}", 0, "{}"), "Healthy: ");
    agent_healthlua_free(rt);
}

static void test_healthlua__memory_bomb_is_stopped(void)
{
    agent_healthlua *rt = runtime();

    GF_ASSERT_STR(run_on(rt, "local s = 'x' while true do s = s .. s end", 0, "{}"),
                  "Unknown: health script exceeded its memory budget (4 MiB)");
    GF_ASSERT_STR(run_on(rt, "local t = {} for i = 1, 1e9 do t[i] = {i} end", 0, "{}"),
                  "Unknown: health script exceeded its memory budget (4 MiB)");
    GF_ASSERT_STR(run_on(rt, "return {status=string.rep('x', 1e9)}", 0, "{}"),
                  "Unknown: health script exceeded its memory budget (4 MiB)");
    GF_ASSERT_STR(run_on(rt,
                         "local t = {} while true do pcall(function() t[#t+1] = "
                         "string.rep('y', 4096) .. #t end) end",
                         0, "{}"),
                  "Unknown: health script exceeded its memory budget (4 MiB)");
    /* garbage of past runs does not count against the next one */
    for (int i = 0; i < 20; i++)
        GF_ASSERT_STR(run_on(rt,
                             "local t = {} for i = 1, 20000 do t[i] = i end "
                             "return {status='Healthy'}",
                             0, "{}"),
                      "Healthy: ");
    agent_healthlua_free(rt);
}

static void test_healthlua__sandbox(void)
{
    agent_healthlua *rt = runtime();

    GF_ASSERT_STR(run_on(rt,
                         "return {status='Healthy', message=type(io) .. type(dofile) .. "
                         "type(loadfile) .. type(os.execute) .. type(os.getenv) .. "
                         "type(string.dump) .. type(debug) .. type(jit) .. type(ffi) .. "
                         "type(bit) .. type(package)}",
                         0, "{}"),
                  "Healthy: nilnilnilnilnilnilnilnilnilnilnil");
    GF_ASSERT_HAS(run_on(rt, "require('ffi')", 1, "{}"), "module 'ffi' not found");
    GF_ASSERT_STR(run_on(rt,
                         "local os2 = require('os') "
                         "return {status='Healthy', message=type(os.time()) .. "
                         "os2.date('!%Y', 0) .. type(os2.date)}",
                         0, "{}"),
                  "Healthy: number1970function");
    GF_ASSERT_HAS(run_on(rt, "require('io')", 0, "{}"), "module 'io' not found");
    /* bytecode is refused, text is fine */
    GF_ASSERT_STR(run_on(rt,
                         "local f, err = loadstring('\\27Lua') "
                         "local g = loadstring('return 7') "
                         "return {status='Healthy', message=tostring(f) .. err .. g()}",
                         0, "{}"),
                  "Healthy: nilbinary chunks are not accepted7");
    GF_ASSERT_STR(run_on(rt, "\033Lua", 0, "{}"), "Unknown: binary chunks are not accepted");
    /* coroutine only with useOpenLibs */
    GF_ASSERT_STR(run_on(rt, "return {status='Healthy', message=type(coroutine)}", 0, "{}"),
                  "Healthy: nil");
    GF_ASSERT_STR(run_on(rt, "return {status='Healthy', message=type(coroutine)}", 1, "{}"),
                  "Healthy: table");
    agent_healthlua_free(rt);
}

static void test_healthlua__runs_are_isolated(void)
{
    agent_healthlua *rt = runtime();
    const char *counter = "n = (n or 0) + 1 return {status='Healthy', message=tostring(n)}";

    /* globals do not survive a run, as in Argo CD's fresh LState per run */
    GF_ASSERT_STR(run_on(rt, counter, 0, "{}"), "Healthy: 1");
    GF_ASSERT_STR(run_on(rt, counter, 0, "{}"), "Healthy: 1");
    /* one script breaking a library does not reach another script */
    GF_ASSERT_STR(run_on(rt, "string.upper = nil ipairs = nil return nil", 0, "{}"), "None: ");
    GF_ASSERT_STR(run_on(rt, "return {status='Healthy', message=string.upper('ok')}", 0, "{}"),
                  "Healthy: OK");
    GF_ASSERT_STR(run_on(rt, "_G.obj = nil return {status='Healthy', message=type(obj)}", 0, "{}"),
                  "Healthy: nil");
    GF_ASSERT_STR(run_on(rt, "return {status='Healthy', message=type(obj)}", 0, "{}"),
                  "Healthy: table");
    agent_healthlua_free(rt);
}

static void test_healthlua__compiled_once(void)
{
    agent_healthlua *rt = runtime();

    for (int i = 0; i < 5; i++)
        GF_ASSERT_STR(run_on(rt, READY, 0, CERT), "Healthy: cert is up to date");
    GF_ASSERT_INT(agent_healthlua_compiled(rt), 1);
    run_on(rt, READY, 1, CERT); /* other libraries: another state */
    GF_ASSERT_INT(agent_healthlua_compiled(rt), 2);
    agent_healthlua_free(rt);
}

GF_TESTS(GF_TEST(test_healthlua__status_and_message), GF_TEST(test_healthlua__goto_as_gopher_lua),
         GF_TEST(test_healthlua__nested_fields_and_arrays), GF_TEST(test_healthlua__missing_fields),
         GF_TEST(test_healthlua__errors_become_unknown), GF_TEST(test_healthlua__bad_returns),
         GF_TEST(test_healthlua__infinite_loop_is_stopped),
         GF_TEST(test_healthlua__memory_bomb_is_stopped), GF_TEST(test_healthlua__sandbox),
         GF_TEST(test_healthlua__runs_are_isolated), GF_TEST(test_healthlua__compiled_once));

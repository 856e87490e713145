/* healthlua.h -- Argo CD's Lua health scripts run on live objects, each within a budget */
#ifndef GF_AGENT_HEALTHLUA_H
#define GF_AGENT_HEALTHLUA_H

#include "health.h"

#include <jansson.h>
#include <stddef.h>

/*
 * A script sees the live object as the global `obj` (converted as Argo CD's
 * gopher-lua conversion does: objects become tables with string keys, arrays
 * 1-based tables, JSON null leaves the key out and is dropped from arrays,
 * every number is a Lua number) and returns a table {status=..., message=...}.
 * It runs in LuaJIT's interpreter (Lua 5.1 + goto, as gopher-lua) with base,
 * table, string, math and a safe `os`
 * (time, date); use_open_libs adds coroutine. No script can read files, load
 * bytecode or see another script's state: each script has a lua_State of its
 * own, and every run gets fresh globals.
 */

struct agent_healthlua_budget {
    size_t memory_bytes;  /* live Lua memory a run may add (object included); 0: default */
    long long timeout_ms; /* wall-clock time of one run; 0: default */
};

#define AGENT_HEALTHLUA_MEMORY_DEFAULT  ((size_t)32 << 20)
#define AGENT_HEALTHLUA_TIMEOUT_DEFAULT 1000 /* Argo CD's per-run timeout */

/* A cache of compiled scripts (a lua_State each), keyed by their text.
 * Thread-safe: runs are serialised by one lock. */
typedef struct agent_healthlua agent_healthlua;

int agent_healthlua_new(agent_healthlua **out, const struct agent_healthlua_budget *budget);
void agent_healthlua_free(agent_healthlua *rt);

/*
 * Run `script` (`len` bytes) on `obj` (borrowed). Fills *out: the status and
 * message the script returned; NONE when it returned nil or an empty table
 * (Argo CD then shows no health); Unknown with the reason when the script
 * fails to compile, raises an error, runs out of its time or memory budget,
 * or returns something that is not a health table. Returns 0, or GF_ENOMEM
 * when the runtime itself cannot allocate.
 */
int agent_healthlua_run(agent_healthlua *rt, struct agent_health *out, const char *script,
                        size_t len, int use_open_libs, const json_t *obj);

/* Scripts compiled so far and runs done (for tests and benchmarks). */
size_t agent_healthlua_compiled(const agent_healthlua *rt);

#endif

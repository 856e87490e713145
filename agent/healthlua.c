/* healthlua.c -- Argo CD Lua health scripts in LuaJIT's interpreter, with a memory and time budget
 */
#include "healthlua.h"
#include "gitfleet/error.h"
#include "gitfleet/hash.h"

#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/*
 * Why LuaJIT, and why with its JIT compiler off: Argo CD runs gopher-lua,
 * which implements Lua 5.1 plus Lua 5.2's `goto` and labels -- and 9 of the
 * 241 health scripts Argo CD ships use `goto continue`. PUC Lua 5.1
 * (liblua5.1-0) rejects those scripts; LuaJIT 2.1 is Lua 5.1 with the same
 * addition. The budget needs a count hook (time) and a lua_Alloc (memory):
 * LuaJIT calls hooks only in its interpreter, never in compiled traces, so
 * every state runs with the JIT engine off (luaJIT_setmode); Debian's amd64
 * build is GC64 and takes a custom allocator. The interpreter still runs a
 * typical script about 2.5x faster than PUC 5.1 (bench/health_lua_vm.lua).
 * LuaJIT's own extensions (ffi, jit, bit) are never opened.
 *
 * Isolation: every distinct script text has its own lua_State (compiled once,
 * cached), so one script can never see or break another's globals. Each run
 * gets a fresh globals table copied from the state's pristine template, as
 * Argo CD's fresh LState per run would.
 */

#define MAX_CACHED 256
#define HOOK_EVERY 1000 /* instructions between clock checks */
#define MAX_DEPTH  256  /* nesting of the object converted into Lua */
/* A script that ran out of time is not run again for this long: with many
 * objects of its kind, one runaway script would otherwise cost its whole
 * time budget per object at every resync. */
#define TIMEOUT_COOLDOWN_MS 30000

struct script {
    uint64_t hash;
    int open_libs;
    char *text;
    size_t len;
    lua_State *L;  /* NULL when the text does not compile */
    char *error;   /* the compile error, when L is NULL */
    int chunk_ref; /* registry: the compiled chunk */
    int env_ref;   /* registry: the pristine globals */
    /* the budget of the run in progress */
    size_t used, limit;
    long long deadline_ms, timeout_ms;
    int out_of_memory, out_of_time;
    long long skip_until_ms; /* after a timeout: Unknown without running until then */
    unsigned long long last_used;
    struct script *next;
};

struct agent_healthlua {
    pthread_mutex_t lock;
    struct agent_healthlua_budget budget;
    struct script *scripts;
    size_t n_scripts;
    unsigned long long clock; /* run counter, for least-recently-used eviction */
};

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- the budget --------------------------------------------------------- */

/* lua_Alloc: growth past the run's limit fails, which Lua raises as a
 * memory error inside the script. */
static void *budget_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct script *s = ud;
    void *p;

    if (nsize == 0) {
        free(ptr);
        s->used -= osize;
        return NULL;
    }
    if (nsize > osize && s->used - osize + nsize > s->limit) {
        s->out_of_memory = 1;
        return NULL;
    }
    if ((p = realloc(ptr, nsize)) == NULL)
        return NULL;
    s->used = s->used - osize + nsize;
    return p;
}

static struct script *script_of(lua_State *L)
{
    void *ud;

    lua_getallocf(L, &ud);
    return ud;
}

static int exhausted(const struct script *s)
{
    return s->out_of_time || s->out_of_memory;
}

static void budget_hook(lua_State *L, lua_Debug *ar)
{
    struct script *s = script_of(L);

    (void)ar;
    if (s->out_of_time || now_ms() > s->deadline_ms) {
        s->out_of_time = 1;
        luaL_error(L, "health script exceeded its time budget (%lld ms)", s->timeout_ms);
    }
}

/* pcall, xpcall and coroutine.resume catch errors; once the budget is spent
 * they pass the error on, so `while true do pcall(f) end` cannot outlive it. */
static int guarded_catch(lua_State *L)
{
    int n = lua_gettop(L);

    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    if (exhausted(script_of(L)))
        return luaL_error(L, "health script exceeded its budget");
    return lua_gettop(L);
}

static void guard(lua_State *L, const char *table, const char *name)
{
    if (table != NULL) {
        lua_getglobal(L, table);
        if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            return;
        }
    } else {
        lua_pushvalue(L, LUA_GLOBALSINDEX);
    }
    lua_getfield(L, -1, name);
    lua_pushcclosure(L, guarded_catch, 1);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

/* --- the libraries --------------------------------------------------------- */

static int no_print(lua_State *L)
{
    (void)L;
    return 0;
}

static int load_text(lua_State *L, const char *text, size_t len, const char *name)
{
    if (len > 0 && text[0] == LUA_SIGNATURE[0]) {
        lua_pushnil(L);
        lua_pushstring(L, "binary chunks are not accepted");
        return 2;
    }
    if (luaL_loadbuffer(L, text, len, name) != 0) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    return 1;
}

/* loadstring(s [, name]) for text only: bytecode could break out of Lua's checks. */
static int safe_loadstring(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);

    return load_text(L, text, len, luaL_optstring(L, 2, text));
}

/* load(f [, name]): the pieces f returns, joined, then as loadstring. */
static int safe_load(lua_State *L)
{
    luaL_Buffer b;
    const char *name = luaL_optstring(L, 2, "=(load)");
    size_t len;

    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 2);
    luaL_buffinit(L, &b);
    for (;;) {
        lua_pushvalue(L, 1);
        lua_call(L, 0, 1);
        if (lua_isnil(L, -1) || (lua_isstring(L, -1) && lua_objlen(L, -1) == 0)) {
            lua_pop(L, 1);
            break;
        }
        if (!lua_isstring(L, -1))
            return luaL_error(L, "reader function must return a string");
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    const char *text = lua_tolstring(L, -1, &len);
    return load_text(L, text, len, name);
}

/* require("os") and the other opened libraries, as gopher-lua's preloads. */
static int safe_require(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);

    lua_getfield(L, lua_upvalueindex(1), name);
    if (lua_isnil(L, -1))
        return luaL_error(L, "module '%s' not found", name);
    return 1;
}

static void open_lib(lua_State *L, lua_CFunction open, const char *name)
{
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
}

static void set_global_nil(lua_State *L, const char *name)
{
    lua_pushnil(L);
    lua_setglobal(L, name);
}

/* Argo CD's "safe" os: time and date only. */
static void open_safe_os(lua_State *L)
{
    open_lib(L, luaopen_os, LUA_OSLIBNAME);
    lua_getglobal(L, LUA_OSLIBNAME);
    lua_createtable(L, 0, 2);
    lua_getfield(L, -2, "time");
    lua_setfield(L, -2, "time");
    lua_getfield(L, -2, "date");
    lua_setfield(L, -2, "date");
    lua_setglobal(L, LUA_OSLIBNAME);
    lua_pop(L, 1);
}

static void register_require(lua_State *L, int open_libs)
{
    static const char *const libs[] = {"os", "string", "table", "math", "coroutine"};

    lua_createtable(L, 0, 5);
    for (size_t i = 0; i < (open_libs ? 5u : 4u); i++) {
        lua_getglobal(L, libs[i]);
        lua_setfield(L, -2, libs[i]);
    }
    lua_pushcclosure(L, safe_require, 1);
    lua_setglobal(L, "require");
}

/* Runs protected: the libraries of a script's state. */
static int open_libs_protected(lua_State *L)
{
    int open_libs = (int)lua_tointeger(L, 1);

    open_lib(L, luaopen_base, "");
    open_lib(L, luaopen_table, LUA_TABLIBNAME);
    open_lib(L, luaopen_string, LUA_STRLIBNAME);
    open_lib(L, luaopen_math, LUA_MATHLIBNAME);
    open_safe_os(L);
    set_global_nil(L, "dofile");
    set_global_nil(L, "loadfile");
    lua_register(L, "loadstring", safe_loadstring);
    lua_register(L, "load", safe_load);
    lua_register(L, "print", no_print);
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    if (!open_libs)
        set_global_nil(L, LUA_COLIBNAME); /* luaopen_base opened it */
    guard(L, NULL, "pcall");
    guard(L, NULL, "xpcall");
    guard(L, LUA_COLIBNAME, "resume");
    register_require(L, open_libs);
    return 0;
}

/* --- compiling -------------------------------------------------------------- */

static void script_free(struct script *s)
{
    if (s == NULL)
        return;
    if (s->L != NULL)
        lua_close(s->L);
    free(s->text);
    free(s->error);
    free(s);
}

static int compile(struct script *s)
{
    int rc;

    s->limit = SIZE_MAX;
    if ((s->L = lua_newstate(budget_alloc, s)) == NULL)
        return gf_error_set(GF_ENOMEM, "health script: LuaJIT refused a state with a memory "
                                       "budget (a non-GC64 build?)");
    /* hooks (the time budget) run only in the interpreter */
    luaJIT_setmode(s->L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    lua_pushcfunction(s->L, open_libs_protected);
    lua_pushinteger(s->L, s->open_libs);
    if (lua_pcall(s->L, 1, 0, 0) != 0) {
        lua_close(s->L);
        s->L = NULL;
        return gf_error_set(GF_ENOMEM, "health script: out of memory opening libraries");
    }
    lua_pushvalue(s->L, LUA_GLOBALSINDEX);
    s->env_ref = luaL_ref(s->L, LUA_REGISTRYINDEX);
    if (s->len > 0 && s->text[0] == LUA_SIGNATURE[0]) {
        rc = LUA_ERRSYNTAX;
        lua_pushstring(s->L, "binary chunks are not accepted");
    } else {
        rc = luaL_loadbuffer(s->L, s->text, s->len, "=<string>");
    }
    if (rc == 0) {
        s->chunk_ref = luaL_ref(s->L, LUA_REGISTRYINDEX);
        return 0;
    }
    s->error = strdup(lua_isstring(s->L, -1) ? lua_tostring(s->L, -1) : "syntax error");
    lua_close(s->L);
    s->L = NULL;
    return s->error ? 0 : gf_error_set(GF_ENOMEM, "health script: out of memory");
}

static void evict_oldest(agent_healthlua *rt)
{
    struct script **pp, **oldest = &rt->scripts;

    for (pp = &rt->scripts; *pp != NULL; pp = &(*pp)->next)
        if ((*pp)->last_used < (*oldest)->last_used)
            oldest = pp;
    struct script *victim = *oldest;
    *oldest = victim->next;
    script_free(victim);
    rt->n_scripts--;
}

static int lookup(struct script **out, agent_healthlua *rt, const char *text, size_t len,
                  int open_libs)
{
    uint64_t hash = gf_hash_bytes(text, len);
    struct script *s;
    int error;

    for (s = rt->scripts; s != NULL; s = s->next)
        if (s->hash == hash && s->len == len && s->open_libs == open_libs &&
            memcmp(s->text, text, len) == 0) {
            *out = s;
            return 0;
        }
    if ((s = calloc(1, sizeof(*s))) == NULL || (s->text = malloc(len + 1)) == NULL) {
        free(s);
        return gf_error_set(GF_ENOMEM, "health script: out of memory");
    }
    memcpy(s->text, text, len);
    s->text[len] = '\0';
    s->len = len;
    s->hash = hash;
    s->open_libs = open_libs;
    if ((error = compile(s)) < 0) {
        script_free(s);
        return error;
    }
    if (rt->n_scripts >= MAX_CACHED)
        evict_oldest(rt);
    s->next = rt->scripts;
    rt->scripts = s;
    rt->n_scripts++;
    *out = s;
    return 0;
}

/* --- the object, into Lua ------------------------------------------------- */

/* As Argo CD's decodeValue: null is no value (a key left out, an array
 * element skipped, so later elements move up), numbers are Lua numbers. */
static void push_json(lua_State *L, const json_t *v, int depth)
{
    const char *key;
    json_t *item;
    size_t i;
    int n = 1;

    if (depth > MAX_DEPTH || !lua_checkstack(L, 4))
        luaL_error(L, "object nested more than %d levels deep", MAX_DEPTH);
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        lua_createtable(L, 0, (int)json_object_size(v));
        json_object_foreach((json_t *)v, key, item)
        {
            if (json_is_null(item))
                continue;
            lua_pushstring(L, key);
            push_json(L, item, depth + 1);
            lua_rawset(L, -3);
        }
        break;
    case JSON_ARRAY:
        lua_createtable(L, (int)json_array_size(v), 0);
        json_array_foreach(v, i, item)
        {
            if (json_is_null(item))
                continue;
            push_json(L, item, depth + 1);
            lua_rawseti(L, -2, n++);
        }
        break;
    case JSON_STRING:
        lua_pushlstring(L, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        lua_pushnumber(L, (lua_Number)json_integer_value(v));
        break;
    case JSON_REAL:
        lua_pushnumber(L, json_real_value(v));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        lua_pushboolean(L, json_is_true(v));
        break;
    default:
        lua_pushnil(L);
    }
}

/* --- the result, out of Lua ------------------------------------------------- */

struct run {
    struct script *s;
    const json_t *obj;
    enum agent_health_status status;
    char *message;    /* malloc'd */
    const char *fail; /* a fixed reason for Unknown */
    char fail_buf[512];
};

/* JSON's name for a Lua value, as Go's json errors say it. */
static const char *json_name(lua_State *L, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        return "number";
    case LUA_TBOOLEAN:
        return "bool";
    case LUA_TTABLE:
        return "object";
    default:
        return "string";
    }
}

/* Values gopher-json cannot encode make Argo CD's run fail. */
static const char *unencodable(lua_State *L, int idx, int depth)
{
    const char *bad = NULL;

    if (depth > MAX_DEPTH)
        return "cannot encode a table nested this deep to JSON";
    lua_pushnil(L);
    while (bad == NULL && lua_next(L, idx) != 0) {
        int t = lua_type(L, -1);
        if (t == LUA_TFUNCTION)
            bad = "cannot encode function to JSON";
        else if (t == LUA_TUSERDATA || t == LUA_TLIGHTUSERDATA)
            bad = "cannot encode userdata to JSON";
        else if (t == LUA_TTHREAD)
            bad = "cannot encode thread to JSON";
        else if (t == LUA_TTABLE && lua_checkstack(L, 4))
            bad = unencodable(L, lua_gettop(L), depth + 1);
        lua_pop(L, 1);
    }
    if (bad != NULL)
        lua_pop(L, 1); /* the key lua_next left */
    return bad;
}

/* 1 when the table is empty or a sequence 1..n: gopher-json writes it as a
 * JSON array, which Argo CD reads as "no health". */
static int is_array(lua_State *L, int idx)
{
    size_t n = lua_objlen(L, idx), keys = 0;

    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        keys++;
        lua_pop(L, 1);
    }
    return keys == n;
}

/* The value of the key Go's decoder would assign last: keys are matched
 * case-insensitively and encoded in sorted order, so the greatest wins. */
static int find_field(lua_State *L, int idx, const char *name)
{
    char best[64] = "";
    int found = 0;

    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING && strcasecmp(lua_tostring(L, -1), name) == 0 &&
            strcmp(lua_tostring(L, -1), best) > 0) {
            snprintf(best, sizeof(best), "%s", lua_tostring(L, -1));
            found = 1;
        }
    }
    if (found)
        lua_getfield(L, idx, best);
    return found;
}

static void read_result(struct run *r, lua_State *L, int idx)
{
    const char *status = "", *message = "";
    int st;

    if (lua_isnil(L, idx))
        return; /* no health, as Argo CD */
    if (!lua_istable(L, idx)) {
        snprintf(r->fail_buf, sizeof(r->fail_buf), "expect table output from Lua script, not %s",
                 luaL_typename(L, idx));
        r->fail = r->fail_buf;
        return;
    }
    if ((r->fail = unencodable(L, idx, 0)) != NULL || is_array(L, idx))
        return;
    if (find_field(L, idx, "status")) {
        if (lua_type(L, -1) != LUA_TSTRING) {
            snprintf(r->fail_buf, sizeof(r->fail_buf),
                     "json: cannot unmarshal %s into Go struct field HealthStatus.status of type "
                     "health.HealthStatusCode",
                     json_name(L, -1));
            r->fail = r->fail_buf;
            return;
        }
        status = lua_tostring(L, -1);
    }
    if (find_field(L, idx, "message")) {
        if (lua_type(L, -1) != LUA_TSTRING) {
            snprintf(r->fail_buf, sizeof(r->fail_buf),
                     "json: cannot unmarshal %s into Go struct field HealthStatus.message of type "
                     "string",
                     json_name(L, -1));
            r->fail = r->fail_buf;
            return;
        }
        message = lua_tostring(L, -1);
    }
    if ((st = agent_health_status_parse(status)) < 0) {
        r->fail = "Lua returned an invalid health status";
        return;
    }
    if ((r->message = strdup(message)) == NULL)
        luaL_error(L, "not enough memory");
    r->status = (enum agent_health_status)st;
}

/* The protected part of a run: fresh globals, `obj`, the chunk, the result. */
static int run_protected(lua_State *L)
{
    struct run *r = lua_touserdata(L, 1);
    int env, base;

    lua_settop(L, 0);
    lua_newtable(L);
    env = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->s->env_ref);
    lua_pushnil(L);
    while (lua_next(L, env + 1) != 0) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, env);
    }
    lua_pop(L, 1);
    lua_pushvalue(L, env);
    lua_setfield(L, env, "_G");
    push_json(L, r->obj, 0);
    lua_setfield(L, env, "obj");
    lua_pushvalue(L, env);
    lua_replace(L, LUA_GLOBALSINDEX);
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->s->chunk_ref);
    lua_pushvalue(L, env);
    lua_setfenv(L, -2);
    base = lua_gettop(L);
    lua_call(L, 0, LUA_MULTRET);
    /* Argo CD reads the top of the stack: the last value returned */
    if (lua_gettop(L) >= base)
        read_result(r, L, lua_gettop(L));
    return 0;
}

static void run_script(struct run *r, agent_healthlua *rt)
{
    struct script *s = r->s;
    lua_State *L = s->L;
    int rc;

    s->out_of_memory = s->out_of_time = 0;
    s->limit = s->used + rt->budget.memory_bytes;
    s->timeout_ms = rt->budget.timeout_ms;
    s->deadline_ms = now_ms() + rt->budget.timeout_ms;
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, HOOK_EVERY);
    rc = lua_cpcall(L, run_protected, r);
    lua_sethook(L, NULL, 0, 0);
    s->limit = SIZE_MAX;
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->env_ref);
    lua_replace(L, LUA_GLOBALSINDEX);
    if (rc != 0) {
        free(r->message);
        r->message = NULL;
        r->status = AGENT_HEALTH_NONE;
        if (s->out_of_memory)
            snprintf(r->fail_buf, sizeof(r->fail_buf),
                     "health script exceeded its memory budget (%zu MiB)",
                     rt->budget.memory_bytes >> 20);
        else if (s->out_of_time) {
            snprintf(r->fail_buf, sizeof(r->fail_buf),
                     "health script exceeded its time budget (%lld ms)", rt->budget.timeout_ms);
            s->skip_until_ms = now_ms() + TIMEOUT_COOLDOWN_MS;
        } else
            snprintf(r->fail_buf, sizeof(r->fail_buf), "%s",
                     lua_isstring(L, -1) ? lua_tostring(L, -1) : "error in health script");
        r->fail = r->fail_buf;
        lua_gc(L, LUA_GCCOLLECT, 0);
    }
    lua_settop(L, 0);
}

/* --- the API ----------------------------------------------------------------- */

int agent_healthlua_new(agent_healthlua **out, const struct agent_healthlua_budget *budget)
{
    agent_healthlua *rt = calloc(1, sizeof(*rt));

    *out = NULL;
    if (rt == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    if (budget != NULL)
        rt->budget = *budget;
    if (rt->budget.memory_bytes == 0)
        rt->budget.memory_bytes = AGENT_HEALTHLUA_MEMORY_DEFAULT;
    if (rt->budget.timeout_ms <= 0)
        rt->budget.timeout_ms = AGENT_HEALTHLUA_TIMEOUT_DEFAULT;
    pthread_mutex_init(&rt->lock, NULL);
    *out = rt;
    return 0;
}

void agent_healthlua_free(agent_healthlua *rt)
{
    if (rt == NULL)
        return;
    while (rt->scripts != NULL) {
        struct script *next = rt->scripts->next;
        script_free(rt->scripts);
        rt->scripts = next;
    }
    pthread_mutex_destroy(&rt->lock);
    free(rt);
}

static int finish(struct agent_health *out, struct run *r)
{
    if (r->fail != NULL) {
        free(r->message);
        r->status = AGENT_HEALTH_UNKNOWN;
        r->message = strdup(r->fail);
    } else if (r->message == NULL) {
        r->message = strdup("");
    }
    if (r->message == NULL)
        return gf_error_set(GF_ENOMEM, "health script: out of memory");
    out->status = r->status;
    out->message = r->message;
    return 0;
}

int agent_healthlua_run(agent_healthlua *rt, struct agent_health *out, const char *script,
                        size_t len, int use_open_libs, const json_t *obj)
{
    struct run r = {.obj = obj};
    int error;

    out->status = AGENT_HEALTH_NONE;
    out->message = NULL;
    pthread_mutex_lock(&rt->lock);
    if ((error = lookup(&r.s, rt, script, len, use_open_libs != 0)) == 0) {
        r.s->last_used = ++rt->clock;
        if (r.s->L == NULL) {
            r.fail = r.s->error;
        } else if (r.s->skip_until_ms > now_ms()) {
            snprintf(r.fail_buf, sizeof(r.fail_buf),
                     "health script exceeded its time budget (%lld ms); not run again for %d s",
                     rt->budget.timeout_ms, TIMEOUT_COOLDOWN_MS / 1000);
            r.fail = r.fail_buf;
        } else {
            run_script(&r, rt);
        }
        error = finish(out, &r);
    }
    pthread_mutex_unlock(&rt->lock);
    return error;
}

size_t agent_healthlua_compiled(const agent_healthlua *rt)
{
    return rt->n_scripts;
}

/* health_lua_bench.c -- cost per object of a Lua health script in the agent (issue 16) */
#include "health.h"
#include "healthlua.h"
#include "gitfleet/healthscripts.h"
#include "gitfleet/yaml_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * Usage: health_lua_bench [ITERATIONS]
 * Assesses a live cert-manager Certificate (as a cluster returns it) through
 * agent_health_assess() with a typical script installed (a loop over
 * status.conditions, as most of Argo CD's scripts), and compares with the
 * same object through a script that only returns (the conversion of the
 * object into Lua), and with the built-in C check of a Deployment.
 */

static const char *const certificate =
    "apiVersion: cert-manager.io/v1\n"
    "kind: Certificate\n"
    "metadata:\n"
    "  name: web-tls\n"
    "  namespace: shop\n"
    "  uid: 6b0c3f7e-6a39-4f6f-9d7c-0e0f4cbe0f11\n"
    "  resourceVersion: '123456'\n"
    "  generation: 3\n"
    "  creationTimestamp: '2026-01-10T10:00:00Z'\n"
    "  labels: {app.kubernetes.io/name: web, app.kubernetes.io/part-of: shop, gitfleet.io/app: "
    "web}\n"
    "  annotations: {gitfleet.io/tracking-id: 'web:cert-manager.io/Certificate:shop/web-tls'}\n"
    "spec:\n"
    "  secretName: web-tls\n"
    "  dnsNames: [shop.example.com, www.shop.example.com]\n"
    "  issuerRef: {name: letsencrypt, kind: ClusterIssuer, group: cert-manager.io}\n"
    "  privateKey: {algorithm: ECDSA, size: 256, rotationPolicy: Always}\n"
    "  duration: 2160h\n"
    "  renewBefore: 360h\n"
    "status:\n"
    "  notBefore: '2026-01-10T10:01:00Z'\n"
    "  notAfter: '2026-04-10T10:01:00Z'\n"
    "  renewalTime: '2026-03-26T10:01:00Z'\n"
    "  revision: 3\n"
    "  observedGeneration: 3\n"
    "  conditions:\n"
    "  - {type: Issuing, status: 'False', reason: Issued, message: 'The certificate has been "
    "successfully issued', lastTransitionTime: '2026-01-10T10:01:00Z', observedGeneration: 3}\n"
    "  - {type: Ready, status: 'True', reason: Ready, message: 'Certificate is up to date and has "
    "not expired', lastTransitionTime: '2026-01-10T10:01:00Z', observedGeneration: 3}\n";

static const char *const typical =
    "local hs = {}\n"
    "if obj.status ~= nil and obj.status.conditions ~= nil then\n"
    "  for i, condition in ipairs(obj.status.conditions) do\n"
    "    if condition.type == 'Issuing' and condition.status == 'True' then\n"
    "      hs.status = 'Progressing'\n"
    "      hs.message = condition.message\n"
    "      return hs\n"
    "    end\n"
    "    if condition.type == 'Ready' and condition.status == 'False' then\n"
    "      hs.status = 'Degraded'\n"
    "      hs.message = condition.message\n"
    "      return hs\n"
    "    end\n"
    "    if condition.type == 'Ready' and condition.status == 'True' then\n"
    "      hs.status = 'Healthy'\n"
    "      hs.message = condition.message\n"
    "      return hs\n"
    "    end\n"
    "  end\n"
    "end\n"
    "hs.status = 'Progressing'\n"
    "hs.message = 'Waiting for certificate'\n"
    "return hs\n";

static const char *const deployment =
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, generation: 2}\n"
    "spec: {replicas: 3}\n"
    "status: {observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3,\n"
    "  conditions: [{type: Available, status: 'True'}, {type: Progressing, status: 'True',\n"
    "  reason: NewReplicaSetAvailable}]}\n";

/* CPU time of this process: on a shared machine wall time mostly measures
 * the neighbours. */
static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static json_t *parse(const char *text)
{
    json_t *doc = NULL;

    if (gf_yaml_parse_one(&doc, text, strlen(text), "bench", NULL) < 0)
        exit(1);
    return doc;
}

static void install(const char *lua)
{
    gf_healthscripts *set = NULL;

    gf_healthscripts_new(&set);
    gf_healthscripts_add(set, GF_HEALTHSCRIPT_CONFIGMAP, "cert-manager.io/Certificate", lua,
                         strlen(lua), 0, "bench");
    agent_health_scripts_install(set);
}

/* Mean microseconds per agent_health_assess() of `obj`, after one warm-up. */
static double per_object(const json_t *obj, int n, const char **status)
{
    struct agent_health h = {0};
    double t0;

    agent_health_assess(&h, obj);
    *status = agent_health_status_name(h.status);
    agent_health_clear(&h);
    t0 = now_us();
    for (int i = 0; i < n; i++) {
        agent_health_assess(&h, obj);
        agent_health_clear(&h);
    }
    return (now_us() - t0) / n;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100000;
    json_t *cert = parse(certificate), *deploy = parse(deployment);
    const char *st;
    double t0, first;
    struct agent_health h = {0};

    install(typical);
    t0 = now_us();
    agent_health_assess(&h, cert); /* compiles the script */
    first = now_us() - t0;
    agent_health_clear(&h);
    printf("objects per case: %d\n", n);
    printf("%-44s %8.2f us  (first run, compile included: %.0f us)\n",
           "typical script (Certificate)", per_object(cert, n, &st), first);
    printf("  -> %s\n", st);
    install("return nil\n");
    printf("%-44s %8.2f us\n", "object conversion only (script returns nil)",
           per_object(cert, n, &st));
    printf("%-44s %8.2f us\n", "built-in C check (Deployment)", per_object(deploy, n, &st));
    agent_health_scripts_install(NULL);
    json_decref(cert);
    json_decref(deploy);
    return 0;
}

/* codec_openapi.c — the OpenAPI 3.1 document of the whole API.
 *
 * What it is for: GET /v1/openapi.json. The routes, envelopes and problem
 * shapes are written once below; each kind's params schema is derived from
 * its field table (codec_schema) and inserted, so a new kind appears here
 * without an edit.
 *
 * What it is not for: routing (http_routes.c holds the routes table; a test
 * checks that every route there is described here).
 */
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "registry.h"

/* The static part. Kept as JSON text because it reads like the contract. */
static const char openapi_base[] =
    "{\"openapi\":\"3.1.0\","
    "\"info\":{\"title\":\"measured\",\"version\":\"1\","
    "\"description\":\"Optimization over measures as HTTP jobs: submit, follow, fetch.\"},"
    "\"jsonSchemaDialect\":\"https://json-schema.org/draft/2020-12/schema\","
    "\"components\":{"
    "\"securitySchemes\":{\"bearer\":{\"type\":\"http\",\"scheme\":\"bearer\"}},"
    "\"schemas\":{"
    "\"Problem\":{\"type\":\"object\",\"required\":[\"type\",\"title\",\"status\",\"detail\"],"
    "\"properties\":{\"type\":{\"type\":\"string\"},\"title\":{\"type\":\"string\"},"
    "\"status\":{\"type\":\"integer\"},\"detail\":{\"type\":\"string\"},"
    "\"errors\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
    "\"pointer\":{\"type\":\"string\"},\"detail\":{\"type\":\"string\"}}}},"
    "\"estimated_bytes\":{\"type\":\"integer\"},\"limit_bytes\":{\"type\":\"integer\"},"
    "\"job_status\":{\"type\":\"string\"},\"job_error\":{\"type\":\"object\"}}},"
    "\"Progress\":{\"type\":\"object\",\"properties\":{\"iteration\":{\"type\":\"integer\"},"
    "\"fraction\":{\"type\":[\"number\",\"null\"]},"
    "\"metrics\":{\"type\":\"object\",\"additionalProperties\":{\"type\":[\"number\",\"null\"]}}}},"
    "\"Job\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},"
    "\"kind\":{\"type\":\"string\"},\"status\":{\"type\":\"string\",\"enum\":[\"queued\","
    "\"running\",\"succeeded\",\"failed\",\"cancelled\"]},\"label\":{\"type\":[\"string\","
    "\"null\"]},\"priority\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":9},"
    "\"timeout_s\":{\"type\":[\"number\",\"null\"]},"
    "\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"started_at\":{\"type\":[\"string\",\"null\"],\"format\":\"date-time\"},"
    "\"finished_at\":{\"type\":[\"string\",\"null\"],\"format\":\"date-time\"},"
    "\"attempts\":{\"type\":\"integer\"},"
    "\"progress\":{\"$ref\":\"#/components/schemas/Progress\"},"
    "\"error\":{\"type\":\"object\"},"
    "\"links\":{\"type\":\"object\",\"properties\":{\"self\":{\"type\":\"string\"},"
    "\"events\":{\"type\":\"string\"},\"result\":{\"type\":\"string\"}}}}},"
    "\"JobList\":{\"type\":\"object\",\"properties\":{\"jobs\":{\"type\":\"array\",\"items\":"
    "{\"$ref\":\"#/components/schemas/Job\"}},\"next_cursor\":{\"type\":[\"string\",\"null\"]}}},"
    "\"Result\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},"
    "\"kind\":{\"type\":\"string\"},\"result\":{\"type\":\"object\"}}},"
    "\"Event\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},"
    "\"event\":{\"type\":\"string\",\"enum\":[\"status\",\"progress\",\"end\"]},"
    "\"data\":{\"type\":\"object\"}}},"
    "\"Kind\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
    "\"title\":{\"type\":\"string\"},\"description\":{\"type\":\"string\"},"
    "\"params_schema\":{\"type\":\"object\"},\"example\":{\"type\":\"object\"}}}},"
    "\"responses\":{"
    "\"Problem\":{\"description\":\"error\",\"content\":{\"application/problem+json\":"
    "{\"schema\":{\"$ref\":\"#/components/schemas/Problem\"}}}},"
    "\"JobObject\":{\"description\":\"the job\",\"content\":{\"application/json\":"
    "{\"schema\":{\"$ref\":\"#/components/schemas/Job\"}}}}},"
    "\"parameters\":{\"id\":{\"name\":\"id\",\"in\":\"path\",\"required\":true,"
    "\"schema\":{\"type\":\"string\"}}}},"
    "\"security\":[{\"bearer\":[]}],"
    "\"paths\":{"
    "\"/v1/jobs\":{"
    "\"post\":{\"summary\":\"Submit a job\",\"parameters\":[{\"name\":\"Idempotency-Key\","
    "\"in\":\"header\",\"schema\":{\"type\":\"string\",\"maxLength\":255}}],"
    "\"requestBody\":{\"required\":true,\"content\":{\"application/json\":{\"schema\":"
    "{\"$ref\":\"#/components/schemas/JobRequest\"}}}},"
    "\"responses\":{\"201\":{\"$ref\":\"#/components/responses/JobObject\"},"
    "\"200\":{\"$ref\":\"#/components/responses/JobObject\"},"
    "\"400\":{\"$ref\":\"#/components/responses/Problem\"},"
    "\"401\":{\"$ref\":\"#/components/responses/Problem\"},"
    "\"409\":{\"$ref\":\"#/components/responses/Problem\"},"
    "\"413\":{\"$ref\":\"#/components/responses/Problem\"},"
    "\"422\":{\"$ref\":\"#/components/responses/Problem\"},"
    "\"429\":{\"$ref\":\"#/components/responses/Problem\"},"
    "\"503\":{\"$ref\":\"#/components/responses/Problem\"}}},"
    "\"get\":{\"summary\":\"List jobs, newest first\",\"parameters\":["
    "{\"name\":\"status\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}},"
    "{\"name\":\"kind\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}},"
    "{\"name\":\"limit\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"minimum\":1,"
    "\"maximum\":1000,\"default\":50}},"
    "{\"name\":\"cursor\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}}],"
    "\"responses\":{\"200\":{\"description\":\"a page of jobs\",\"content\":"
    "{\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/JobList\"}}}},"
    "\"400\":{\"$ref\":\"#/components/responses/Problem\"},"
    "\"401\":{\"$ref\":\"#/components/responses/Problem\"},"
    "\"503\":{\"$ref\":\"#/components/responses/Problem\"}}}},"
    "\"/v1/jobs/{id}\":{\"parameters\":[{\"$ref\":\"#/components/parameters/id\"}],"
    "\"get\":{\"summary\":\"A job; ?wait=S holds the answer until it is terminal\","
    "\"parameters\":[{\"name\":\"wait\",\"in\":\"query\",\"schema\":{\"type\":\"number\","
    "\"minimum\":0,\"maximum\":60}}],"
    "\"responses\":{\"200\":{\"$ref\":\"#/components/responses/JobObject\"},"
    "\"400\":{\"$ref\":\"#/components/responses/Problem\"},"
    "\"401\":{\"$ref\":\"#/components/responses/Problem\"},"
    "\"404\":{\"$ref\":\"#/components/responses/Problem\"},"
    "\"503\":{\"$ref\":\"#/components/responses/Problem\"}}},"
    "\"delete\":{\"summary\":\"Cancel a job\",\"responses\":{"
    "\"202\":{\"$ref\":\"#/components/responses/JobObject\"},"
    "\"401\":{\"$ref\":\"#/components/responses/Problem\"},"
    "\"404\":{\"$ref\":\"#/components/responses/Problem\"},"
    "\"409\":{\"$ref\":\"#/components/responses/Problem\"},"
    "\"503\":{\"$ref\":\"#/components/responses/Problem\"}}}},"
    "\"/v1/jobs/{id}/result\":{\"parameters\":[{\"$ref\":\"#/components/parameters/id\"}],"
    "\"get\":{\"summary\":\"The result of a succeeded job\",\"responses\":{"
    "\"200\":{\"description\":\"the result\",\"content\":{\"application/json\":{\"schema\":"
    "{\"$ref\":\"#/components/schemas/Result\"}}}},"
    "\"401\":{\"$ref\":\"#/components/responses/Problem\"},"
    "\"404\":{\"$ref\":\"#/components/responses/Problem\"},"
    "\"409\":{\"$ref\":\"#/components/responses/Problem\"},"
    "\"503\":{\"$ref\":\"#/components/responses/Problem\"}}}},"
    "\"/v1/jobs/{id}/events\":{\"parameters\":[{\"$ref\":\"#/components/parameters/id\"}],"
    "\"get\":{\"summary\":\"The job's events: replay, then live, until end\","
    "\"parameters\":[{\"name\":\"Last-Event-ID\",\"in\":\"header\",\"schema\":"
    "{\"type\":\"integer\"}},{\"name\":\"after\",\"in\":\"query\",\"schema\":"
    "{\"type\":\"integer\"}}],"
    "\"responses\":{\"200\":{\"description\":\"event stream\",\"content\":{"
    "\"text/event-stream\":{\"schema\":{\"type\":\"string\"}},"
    "\"application/x-ndjson\":{\"schema\":{\"$ref\":\"#/components/schemas/Event\"}}}},"
    "\"400\":{\"$ref\":\"#/components/responses/Problem\"},"
    "\"401\":{\"$ref\":\"#/components/responses/Problem\"},"
    "\"404\":{\"$ref\":\"#/components/responses/Problem\"},"
    "\"503\":{\"$ref\":\"#/components/responses/Problem\"}}}},"
    "\"/v1/kinds\":{\"get\":{\"summary\":\"Job kinds and their params schemas\","
    "\"responses\":{\"200\":{\"description\":\"kinds\",\"content\":{\"application/json\":"
    "{\"schema\":{\"type\":\"object\",\"properties\":{\"kinds\":{\"type\":\"array\","
    "\"items\":{\"$ref\":\"#/components/schemas/Kind\"}}}}}}},"
    "\"401\":{\"$ref\":\"#/components/responses/Problem\"}}}},"
    "\"/v1/kinds/{name}\":{\"get\":{\"summary\":\"One kind\",\"parameters\":[{\"name\":"
    "\"name\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":\"string\"}}],"
    "\"responses\":{\"200\":{\"description\":\"the kind\",\"content\":{\"application/json\":"
    "{\"schema\":{\"$ref\":\"#/components/schemas/Kind\"}}}},"
    "\"401\":{\"$ref\":\"#/components/responses/Problem\"},"
    "\"404\":{\"$ref\":\"#/components/responses/Problem\"}}}},"
    "\"/v1/openapi.json\":{\"get\":{\"summary\":\"This document\",\"responses\":{\"200\":"
    "{\"description\":\"OpenAPI 3.1\"},"
    "\"401\":{\"$ref\":\"#/components/responses/Problem\"}}}},"
    "\"/healthz\":{\"get\":{\"summary\":\"Liveness\",\"security\":[],\"responses\":{\"200\":"
    "{\"description\":\"serving\"}}}},"
    "\"/readyz\":{\"get\":{\"summary\":\"Readiness: store open and pool running\","
    "\"security\":[],\"responses\":{\"200\":{\"description\":\"ready\"},\"503\":"
    "{\"$ref\":\"#/components/responses/Problem\"}}}},"
    "\"/metrics\":{\"get\":{\"summary\":\"Prometheus text exposition\",\"responses\":{"
    "\"200\":{\"description\":\"metrics\",\"content\":{\"text/plain\":{\"schema\":"
    "{\"type\":\"string\"}}}},"
    "\"401\":{\"$ref\":\"#/components/responses/Problem\"}}}},"
    "\"/\":{\"get\":{\"summary\":\"The dashboard (HTML)\",\"security\":[],\"responses\":{"
    "\"200\":{\"description\":\"the page\",\"content\":{\"text/html\":{\"schema\":"
    "{\"type\":\"string\"}}}}}}},"
    "\"/ui/{name}\":{\"get\":{\"summary\":\"The dashboard's scripts and styles\","
    "\"security\":[],\"parameters\":[{\"name\":\"name\",\"in\":\"path\",\"required\":true,"
    "\"schema\":{\"type\":\"string\"}}],\"responses\":{\"200\":{\"description\":"
    "\"the file\"},\"304\":{\"description\":\"not modified (If-None-Match)\"},"
    "\"404\":{\"$ref\":\"#/components/responses/Problem\"}}}}}}";

/* JobRequest: the envelope, with params one of the kinds' schemas chosen
 * by `kind` (if/then per kind, so validators pick the right one). */
static cJSON *job_request(void) {
    size_t n;
    const ms_kind *const *ks = ms_registry(&n);
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "type", "object");
    cJSON *req = cJSON_AddArrayToObject(s, "required");
    cJSON_AddItemToArray(req, cJSON_CreateString("kind"));
    cJSON_AddItemToArray(req, cJSON_CreateString("params"));
    cJSON *props = cJSON_AddObjectToObject(s, "properties");
    cJSON *kind = cJSON_AddObjectToObject(props, "kind");
    cJSON_AddStringToObject(kind, "type", "string");
    cJSON *names = cJSON_AddArrayToObject(kind, "enum");
    cJSON_AddObjectToObject(props, "params");
    cJSON *label = cJSON_AddObjectToObject(props, "label");
    cJSON_AddStringToObject(label, "type", "string");
    cJSON_AddNumberToObject(label, "maxLength", CODEC_LABEL_MAX);
    cJSON *pri = cJSON_AddObjectToObject(props, "priority");
    cJSON_AddStringToObject(pri, "type", "integer");
    cJSON_AddNumberToObject(pri, "minimum", 0);
    cJSON_AddNumberToObject(pri, "maximum", 9);
    cJSON_AddNumberToObject(pri, "default", CODEC_PRIORITY_DEFAULT);
    cJSON *to = cJSON_AddObjectToObject(props, "timeout_s");
    cJSON_AddStringToObject(to, "type", "number");
    cJSON_AddNumberToObject(to, "exclusiveMinimum", 0);
    cJSON_AddFalseToObject(s, "additionalProperties");
    cJSON *all = cJSON_AddArrayToObject(s, "allOf");
    for (size_t i = 0; i < n; i++) {
        cJSON_AddItemToArray(names, cJSON_CreateString(ks[i]->name));
        cJSON *rule = cJSON_CreateObject();
        cJSON *ifp = cJSON_AddObjectToObject(cJSON_AddObjectToObject(rule, "if"), "properties");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(ifp, "kind"), "const", ks[i]->name);
        cJSON *thenp = cJSON_AddObjectToObject(cJSON_AddObjectToObject(rule, "then"), "properties");
        char ref[160];
        snprintf(ref, sizeof ref, "#/components/schemas/params_%s", ks[i]->name);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(thenp, "params"), "$ref", ref);
        cJSON_AddItemToArray(all, rule);
    }
    return s;
}

cJSON *codec_openapi(void) {
    cJSON *doc = cJSON_Parse(openapi_base);
    if (!doc)
        return NULL;
    cJSON *schemas =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(doc, "components"), "schemas");
    cJSON_AddItemToObject(schemas, "JobRequest", job_request());
    size_t n;
    const ms_kind *const *ks = ms_registry(&n);
    for (size_t i = 0; i < n; i++) {
        char name[160];
        snprintf(name, sizeof name, "params_%s", ks[i]->name);
        cJSON *sc = codec_schema(ks[i]->params);
        if (sc) {
            /* Inside OpenAPI the dialect is declared once at the top. */
            cJSON_DeleteItemFromObject(sc, "$schema");
            if (ks[i]->description)
                cJSON_AddStringToObject(sc, "description", ks[i]->description);
        }
        cJSON_AddItemToObject(schemas, name, sc);
    }
    return doc;
}

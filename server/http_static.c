/* http_static.c — the dashboard's files, served from the binary.
 *
 * What it is for: GET / (the page) and GET /ui/{name} (its scripts and
 * styles), from the table web/embed.sh generates at build time from web/
 * (web_assets.h). No file is read at run time and nothing is fetched from
 * elsewhere: the Content-Security-Policy keeps the page to this origin.
 * The routes are open (no token): a browser cannot send a bearer token with
 * a page load, and the files hold no secret; the page asks for the token
 * and sends it with its API calls.
 *
 * What it is not for: the API (http_routes.c) or the page's logic (web/).
 */
#include <string.h>

#include "http_static.h"
#include "ms_alloc.h"
#include "web_assets.h"

/* Scripts and styles only from here; the API on the same origin; charts are
 * canvases and screenshots data: URLs. */
#define CSP                                                                              \
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; " \
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

static const web_asset *find(const char *name) {
    for (size_t i = 0; i < web_nassets; i++)
        if (strcmp(web_assets[i].name, name) == 0)
            return &web_assets[i];
    return NULL;
}

static enum MHD_Result serve(req *r, const char *name) {
    const web_asset *a = find(name);
    if (!a)
        return http_error(r, 404, "not-found", "Not found", "no such file of the dashboard");
    const char *hdrs[] = {"ETag",
                          a->etag,
                          "Cache-Control",
                          "no-cache",
                          "X-Content-Type-Options",
                          "nosniff",
                          "Content-Security-Policy",
                          CSP,
                          NULL};
    /* Revalidation: the same build answers 304 without the body. */
    const char *inm = http_header(r, "If-None-Match");
    if (inm && strcmp(inm, a->etag) == 0)
        return http_reply(r, 304, NULL, NULL, 0, hdrs);
    char *body = ms_malloc(a->len ? a->len : 1, 1);
    if (!body)
        return http_error(r, 503, "out-of-memory", "Out of memory", "retry later");
    memcpy(body, a->data, a->len);
    return http_reply(r, 200, a->type, body, a->len, hdrs);
}

enum MHD_Result http_static_index(req *r) {
    return serve(r, "index.html");
}

enum MHD_Result http_static_asset(req *r) {
    return serve(r, r->arg);
}

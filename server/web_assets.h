/* web_assets.h — the dashboard's files (web/), compiled into the daemon.
 *
 * The table is generated at build time by web/embed.sh (the Makefile writes
 * $(BUILD)/gen/web_assets.c); server/http_static.c serves it. Each data
 * array has a NUL after its len bytes, which is not part of the asset.
 */
#ifndef WEB_ASSETS_H
#define WEB_ASSETS_H

#include <stddef.h>

typedef struct web_asset {
    const char *name; /* base name, e.g. "app.js" */
    const char *type; /* Content-Type */
    const char *etag; /* quoted, e.g. "\"123-456\"" */
    const unsigned char *data;
    size_t len;
} web_asset;

extern const web_asset web_assets[];
extern const size_t web_nassets;

#endif

/* http_static.h — the dashboard's routes (GET /, GET /ui/{name}), rows of
 * the routes table in http_routes.c. */
#ifndef HTTP_STATIC_H
#define HTTP_STATIC_H

#include "http_internal.h"

/* GET /: the dashboard page (web/index.html). */
enum MHD_Result http_static_index(req *r);
/* GET /ui/{name}: one of the page's files (scripts, styles, licences). */
enum MHD_Result http_static_asset(req *r);

#endif

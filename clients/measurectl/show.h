/* show.h — how measurectl prints jobs, lists, kinds and live progress for
 * people (the --json output is the server's own JSON and needs none of it).
 */
#ifndef SHOW_H
#define SHOW_H

#include <cjson/cJSON.h>
#include <stdio.h>

/* A job object as "key  value" lines. */
void show_job(FILE *f, const cJSON *job);
/* A page of GET /v1/jobs as a table. */
void show_list(FILE *f, const cJSON *page);
/* GET /v1/kinds as a table of names and titles. */
void show_kinds(FILE *f, const cJSON *kinds);
/* One kind: title, description, every parameter with its type, default,
 * bounds and doc, then the example body. */
void show_kind(FILE *f, const cJSON *kind);

/* Live progress of one job on f: a redrawn bar when tty, else one line per
 * event. */
typedef struct show_progress {
    FILE *f;
    int tty;
    int width; /* terminal columns (tty only) */
    int drawn; /* a bar is on the current line */
    char id[64];
    char status[16];
} show_progress;

void show_progress_init(show_progress *p, FILE *f, const char *id);
/* One event (type and data as in the stream). */
void show_progress_event(show_progress *p, const char *type, const cJSON *data);
/* Finish the bar's line, if any. */
void show_progress_done(show_progress *p);

#endif

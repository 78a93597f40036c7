/* pot_fixtures.h — reading the POT fixture files (the JSON files under tests/fixtures/,
 * made by the committed tests/fixtures/make_*_fixtures.py scripts) for the
 * suites that compare a kind with POT. Header-only (static functions), so
 * each suite stays one executable. */
#ifndef POT_FIXTURES_H
#define POT_FIXTURES_H

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef FIXTURE_DIR
#define FIXTURE_DIR "tests/fixtures"
#endif

/* The parsed JSON of FIXTURE_DIR/name, or NULL (free with cJSON_Delete). */
static cJSON *fixture_load(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", FIXTURE_DIR, name);
    FILE *fh = fopen(path, "rb");
    if (!fh)
        return NULL;
    fseek(fh, 0, SEEK_END);
    long len = ftell(fh);
    fseek(fh, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    size_t got = buf ? fread(buf, 1, (size_t)len, fh) : 0;
    fclose(fh);
    if (!buf)
        return NULL;
    buf[got] = 0;
    cJSON *j = cJSON_ParseWithLength(buf, got);
    free(buf);
    return j;
}

/* Flatten a JSON array of numbers or of arrays of numbers (malloc'd). */
static double *fixture_flat(const cJSON *a, size_t *rows, size_t *cols) {
    size_t r = (size_t)cJSON_GetArraySize(a);
    const cJSON *first = cJSON_GetArrayItem(a, 0);
    size_t c = cJSON_IsArray(first) ? (size_t)cJSON_GetArraySize(first) : 1;
    double *v = malloc(r * c * sizeof *v);
    size_t i = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, a) {
        if (cJSON_IsArray(row)) {
            const cJSON *x;
            cJSON_ArrayForEach(x, row) v[i++] = x->valuedouble;
        } else {
            v[i++] = row->valuedouble;
        }
    }
    *rows = r;
    *cols = c;
    return v;
}

#endif

/* codec_schema.c — JSON Schema of field tables and the OpenAPI document.
 *
 * What it is for: deriving, from the field tables alone, the JSON Schema
 * (2020-12) that /v1/kinds shows for each kind and the OpenAPI 3.1 document of
 * the whole API, so that a parameter is declared once (lib/ms_params.h).
 *
 * What it is not for: validating (the codec and lib/ do that; the schema is
 * documentation that agrees with them by construction).
 */
#include <math.h>
#include <string.h>

#include "codec.h"
#include "registry.h"

static void bounds(cJSON *s, const ms_field *f) {
    if (f->flags & MS_FF_MIN_EXCL)
        cJSON_AddNumberToObject(s, "exclusiveMinimum", f->min);
    else if (f->flags & MS_FF_MIN)
        cJSON_AddNumberToObject(s, "minimum", f->min);
    if (f->flags & MS_FF_MAX_EXCL)
        cJSON_AddNumberToObject(s, "exclusiveMaximum", f->max);
    else if (f->flags & MS_FF_MAX)
        cJSON_AddNumberToObject(s, "maximum", f->max);
}

static cJSON *typed(const char *type, int nullable) {
    cJSON *s = cJSON_CreateObject();
    if (!nullable) {
        cJSON_AddStringToObject(s, "type", type);
    } else {
        cJSON *t = cJSON_AddArrayToObject(s, "type");
        cJSON_AddItemToArray(t, cJSON_CreateString(type));
        cJSON_AddItemToArray(t, cJSON_CreateString("null"));
    }
    return s;
}

static cJSON *number_item(const ms_field *f) {
    cJSON *s = typed((f->flags & MS_FF_INTEGER) ? "integer" : "number", 0);
    bounds(s, f);
    return s;
}

static cJSON *array_of(cJSON *items, size_t max_items, size_t min_items) {
    cJSON *s = typed("array", 0);
    cJSON_AddItemToObject(s, "items", items);
    if (min_items)
        cJSON_AddNumberToObject(s, "minItems", (double)min_items);
    if (max_items)
        cJSON_AddNumberToObject(s, "maxItems", (double)max_items);
    return s;
}

static cJSON *measure_schema(const ms_field *f) {
    cJSON *s = typed("object", 0);
    cJSON *props = cJSON_AddObjectToObject(s, "properties");
    cJSON *pt = array_of(array_of(typed("number", 0), 0, 1), f->max_len, 1);
    cJSON_AddStringToObject(pt, "description",
                            "support points, one row per point, all of one dimension");
    cJSON_AddItemToObject(props, "points", pt);
    cJSON *wi = typed("number", 0);
    cJSON_AddNumberToObject(wi, "minimum", 0);
    cJSON *w = array_of(wi, f->max_len, 1);
    cJSON_AddStringToObject(w, "description",
                            "non-negative weights, one per point; default uniform");
    cJSON_AddItemToObject(props, "weights", w);
    if (f->flags & MS_FF_POINTS_OPTIONAL) {
        /* Points (weights default to uniform), or weights alone. */
        cJSON *any = cJSON_AddArrayToObject(s, "anyOf");
        const char *const alt[] = {"points", "weights"};
        for (int i = 0; i < 2; i++) {
            cJSON *one = cJSON_CreateObject();
            cJSON_AddItemToArray(cJSON_AddArrayToObject(one, "required"),
                                 cJSON_CreateString(alt[i]));
            cJSON_AddItemToArray(any, one);
        }
    } else {
        cJSON_AddItemToArray(cJSON_AddArrayToObject(s, "required"), cJSON_CreateString("points"));
    }
    cJSON_AddFalseToObject(s, "additionalProperties");
    return s;
}

static cJSON *object_schema(const ms_fields *fs);

static cJSON *field_schema(const ms_field *f) {
    int nullable = (f->flags & MS_FF_NULLABLE) != 0;
    cJSON *s = NULL;
    switch (f->type) {
    case MS_F_DOUBLE:
        s = typed("number", nullable);
        bounds(s, f);
        if (!isnan(f->def))
            cJSON_AddNumberToObject(s, "default", f->def);
        break;
    case MS_F_INT:
        s = typed("integer", nullable);
        bounds(s, f);
        if (!isnan(f->def))
            cJSON_AddNumberToObject(s, "default", f->def);
        break;
    case MS_F_BOOL:
        s = typed("boolean", nullable);
        cJSON_AddBoolToObject(s, "default", !isnan(f->def) && f->def != 0);
        break;
    case MS_F_STRING:
        s = typed("string", nullable);
        if (f->max_len)
            cJSON_AddNumberToObject(s, "maxLength", (double)f->max_len);
        if (f->def_str)
            cJSON_AddStringToObject(s, "default", f->def_str);
        break;
    case MS_F_ENUM: {
        s = typed("string", nullable);
        cJSON *e = cJSON_AddArrayToObject(s, "enum");
        for (size_t i = 0; f->choices && f->choices[i]; i++)
            cJSON_AddItemToArray(e, cJSON_CreateString(f->choices[i]));
        if (f->def_str)
            cJSON_AddStringToObject(s, "default", f->def_str);
        break;
    }
    case MS_F_VEC:
        s = array_of(number_item(f), f->max_len, 0);
        break;
    case MS_F_MAT:
        s = array_of(array_of(number_item(f), 0, 1), 0, 1);
        if (f->max_len)
            cJSON_AddNumberToObject(s, "x-max-entries", (double)f->max_len);
        break;
    case MS_F_MEASURE:
        s = measure_schema(f);
        break;
    case MS_F_MEASURES:
        s = array_of(measure_schema(f), 0, 1);
        break;
    case MS_F_DICT: {
        s = typed("object", nullable);
        cJSON_AddItemToObject(s, "additionalProperties", typed("number", 0));
        if (f->max_len)
            cJSON_AddNumberToObject(s, "maxProperties", (double)f->max_len);
        break;
    }
    case MS_F_OBJECT:
        s = object_schema(f->sub);
        break;
    case MS_F_LIST:
        s = array_of(object_schema(f->sub), f->max_len, 0);
        break;
    }
    if (s && f->doc)
        cJSON_AddStringToObject(s, "description", f->doc);
    return s;
}

static cJSON *object_schema(const ms_fields *fs) {
    cJSON *s = typed("object", 0);
    cJSON *props = cJSON_AddObjectToObject(s, "properties");
    cJSON *req = cJSON_CreateArray();
    for (size_t i = 0; i < fs->n; i++) {
        cJSON_AddItemToObject(props, fs->f[i].name, field_schema(&fs->f[i]));
        if (fs->f[i].flags & MS_FF_REQUIRED)
            cJSON_AddItemToArray(req, cJSON_CreateString(fs->f[i].name));
    }
    if (cJSON_GetArraySize(req))
        cJSON_AddItemToObject(s, "required", req);
    else
        cJSON_Delete(req);
    cJSON_AddFalseToObject(s, "additionalProperties");
    return s;
}

cJSON *codec_schema(const ms_fields *fs) {
    cJSON *s = object_schema(fs);
    if (!s)
        return NULL;
    cJSON *id = cJSON_CreateString("https://json-schema.org/draft/2020-12/schema");
    if (!id) {
        cJSON_Delete(s);
        return NULL;
    }
    cJSON_AddItemToObject(s, "$schema", id);
    /* threads is capped, never refused for its size (codec.c). */
    cJSON *th = cJSON_GetObjectItem(cJSON_GetObjectItem(s, "properties"), "threads");
    cJSON_DeleteItemFromObject(th, "maximum");
    return s;
}

cJSON *codec_kind_json(const ms_kind *k) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", k->name);
    cJSON_AddStringToObject(o, "title", k->title ? k->title : k->name);
    cJSON_AddStringToObject(o, "description", k->description ? k->description : "");
    cJSON_AddItemToObject(o, "params_schema", codec_schema(k->params));
    if (k->example) {
        cJSON *ex = cJSON_Parse(k->example);
        if (ex)
            cJSON_AddItemToObject(o, "example", ex);
    }
    return o;
}

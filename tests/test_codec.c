/* test_codec.c — the JSON codec, with field tables defined here (every field
 * type, every error path, allocation failures), the result writer and the
 * schema derivation. */
#include "test_util.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "http_internal.h"
#include "ms_alloc.h"

typedef struct sub_t {
    int present;
    double a;
    long long k;
} sub_t;

typedef struct item_t {
    double w;
    char *tag;
} item_t;

typedef struct params_t {
    double eps;
    long long seed, threads;
    int flag;
    char *name;
    int method;
    ms_vec v;
    ms_mat m;
    ms_measure src, wonly;
    ms_measures many;
    ms_dict d;
    sub_t obj;
    ms_list list;
    double nul;
} params_t;

static const ms_field sub_f[] = {
    {"a", MS_F_DOUBLE, offsetof(sub_t, a), MS_FF_MIN, 0, 0, 2.5, NULL, NULL, NULL, 0, "a"},
    {"k", MS_F_INT, offsetof(sub_t, k), MS_FF_MAX, 0, 10, 3, NULL, NULL, NULL, 0, "k"},
};
static const ms_fields sub_fs = MS_FIELDS(sub_t, sub_f);

static const ms_field item_f[] = {
    {"w", MS_F_DOUBLE, offsetof(item_t, w), MS_FF_REQUIRED, 0, 0, NAN, NULL, NULL, NULL, 0, "w"},
    {"tag", MS_F_STRING, offsetof(item_t, tag), 0, 0, 0, NAN, NULL, NULL, NULL, 4, "tag"},
};
static const ms_fields item_fs = MS_FIELDS(item_t, item_f);

static const char *const methods[] = {"alpha", "beta", NULL};

static const ms_field fields[] = {
    {"eps", MS_F_DOUBLE, offsetof(params_t, eps), MS_FF_REQUIRED | MS_FF_MIN_EXCL, 0, 0, NAN, NULL,
     NULL, NULL, 0, "regularisation"},
    {"seed", MS_F_INT, offsetof(params_t, seed), 0, 0, 0, 7, NULL, NULL, NULL, 0, "seed"},
    {"threads", MS_F_INT, offsetof(params_t, threads), MS_FF_MIN, 1, 0, 1, NULL, NULL, NULL, 0,
     "threads"},
    {"flag", MS_F_BOOL, offsetof(params_t, flag), 0, 0, 0, 1, NULL, NULL, NULL, 0, "flag"},
    {"name", MS_F_STRING, offsetof(params_t, name), 0, 0, 0, NAN, "none", NULL, NULL, 8, "name"},
    {"method", MS_F_ENUM, offsetof(params_t, method), 0, 0, 0, NAN, "beta", methods, NULL, 0,
     "method"},
    {"v", MS_F_VEC, offsetof(params_t, v), MS_FF_MIN, 0, 0, NAN, NULL, NULL, NULL, 0, "v"},
    {"m", MS_F_MAT, offsetof(params_t, m), 0, 0, 0, NAN, NULL, NULL, NULL, 0, "m"},
    {"src", MS_F_MEASURE, offsetof(params_t, src), MS_FF_REQUIRED, 0, 0, NAN, NULL, NULL, NULL, 0,
     "src"},
    {"wonly", MS_F_MEASURE, offsetof(params_t, wonly), MS_FF_POINTS_OPTIONAL, 0, 0, NAN, NULL, NULL,
     NULL, 0, "wonly"},
    {"many", MS_F_MEASURES, offsetof(params_t, many), 0, 0, 0, NAN, NULL, NULL, NULL, 0, "many"},
    {"d", MS_F_DICT, offsetof(params_t, d), 0, 0, 0, NAN, NULL, NULL, NULL, 0, "d"},
    {"obj", MS_F_OBJECT, offsetof(params_t, obj), 0, 0, 0, NAN, NULL, NULL, &sub_fs, 0, "obj"},
    {"list", MS_F_LIST, offsetof(params_t, list), 0, 0, 0, NAN, NULL, NULL, &item_fs, 3, "list"},
    {"nul", MS_F_DOUBLE, offsetof(params_t, nul), MS_FF_NULLABLE, 0, 0, NAN, NULL, NULL, NULL, 0,
     "auto when null"},
};
static const ms_fields fs = MS_FIELDS(params_t, fields);

static const char full_doc[] =
    "{\"eps\": 0.25, \"seed\": 42, \"threads\": 2, \"flag\": false, \"name\": \"abc\","
    " \"method\": \"alpha\", \"v\": [1, 2.5, 3], \"m\": [[1, 2], [3, 4], [5, 6]],"
    " \"src\": {\"points\": [[0, 1], [2, 3]], \"weights\": [0.25, 0.75]},"
    " \"wonly\": {\"weights\": [1, 2, 3]},"
    " \"many\": [{\"points\": [[1]]}, {\"points\": [[2], [3]]}],"
    " \"d\": {\"x\": 1.5, \"y\": -2}, \"obj\": {\"a\": 9, \"k\": 4},"
    " \"list\": [{\"w\": 1, \"tag\": \"p\"}, {\"w\": 2}], \"nul\": null}";

/* Parse text with cJSON, fill params, return the status; errs filled. */
static ms_status parse(const char *text, params_t *p, ms_errlist *errs) {
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    ms_errlist_clear(errs);
    ms_status s = codec_params_parse(&fs, j, p, errs);
    cJSON_Delete(j);
    return s;
}

/* True when errs holds an error at `field` whose message contains `what`. */
static int has_err(const ms_errlist *errs, const char *field, const char *what) {
    for (size_t i = 0; i < errs->n; i++)
        if (strcmp(errs->e[i].field, field) == 0 && (!what || strstr(errs->e[i].msg, what)))
            return 1;
    for (size_t i = 0; i < errs->n; i++)
        print_message("  error %s: %s\n", errs->e[i].field, errs->e[i].msg);
    return 0;
}

static void test_full_parse(void **state) {
    (void)state;
    params_t p;
    ms_errlist errs;
    assert_int_equal(parse(full_doc, &p, &errs), MS_OK);
    assert_close(p.eps, 0.25, 0, 0);
    assert_true(p.seed == 42 && p.threads == 2 && p.flag == 0);
    assert_string_equal(p.name, "abc");
    assert_int_equal(p.method, 0);
    assert_int_equal(p.v.n, 3);
    assert_close(p.v.v[1], 2.5, 0, 0);
    assert_true(p.m.rows == 3 && p.m.cols == 2);
    assert_close(p.m.v[2 * 2 + 1], 6, 0, 0);
    assert_true(p.src.n == 2 && p.src.d == 2 && p.src.weights_given);
    assert_close(p.src.points[3], 3, 0, 0);
    assert_close(p.src.weights[1], 0.75, 0, 0);
    assert_true(p.wonly.n == 3 && p.wonly.d == 0 && p.wonly.points == NULL);
    assert_true(p.many.count == 2 && p.many.m[1].n == 2 && p.many.m[1].d == 1);
    assert_close(p.many.m[1].weights[0], 0.5, 0, 0); /* uniform when absent */
    assert_false(p.many.m[1].weights_given);
    assert_true(p.d.n == 2 && strcmp(p.d.names[1], "y") == 0);
    assert_close(p.d.values[1], -2, 0, 0);
    assert_true(p.obj.present && p.obj.k == 4);
    assert_close(p.obj.a, 9, 0, 0);
    assert_int_equal(p.list.n, 2);
    item_t *it = p.list.items;
    assert_string_equal(it[0].tag, "p");
    assert_null(it[1].tag);
    assert_close(it[1].w, 2, 0, 0);
    assert_true(isnan(p.nul));
    assert_int_equal(ms_params_validate(&fs, &p, &errs), MS_OK);
    ms_params_free(&fs, &p);
}

static void test_defaults(void **state) {
    (void)state;
    params_t p;
    ms_errlist errs;
    assert_int_equal(parse("{\"eps\": 1, \"src\": {\"points\": [[1.5]]}}", &p, &errs), MS_OK);
    assert_true(p.seed == 7 && p.threads == 1 && p.flag == 1 && p.method == 1);
    assert_false(p.obj.present);
    assert_close(p.obj.a, 2.5, 0, 0); /* nested defaults are written too */
    assert_true(p.obj.k == 3);
    assert_null(p.v.v);
    assert_close(p.src.weights[0], 1, 0, 0);
    ms_params_free(&fs, &p);
}

static void test_type_errors(void **state) {
    (void)state;
    params_t p;
    ms_errlist errs;
    const char *doc = "{\"eps\": \"x\", \"seed\": 1.5, \"threads\": true, \"flag\": 1,"
                      " \"name\": 3, \"method\": \"gamma\", \"v\": [1, \"a\"], \"m\": [[1], 2],"
                      " \"src\": [1], \"many\": {}, \"d\": {\"z\": \"q\"}, \"obj\": [],"
                      " \"list\": [3], \"nul\": \"auto\"}";
    assert_int_equal(parse(doc, &p, &errs), MS_EINVAL);
    assert_true(has_err(&errs, "eps", "must be a number"));
    assert_true(has_err(&errs, "seed", "integer"));
    assert_true(has_err(&errs, "threads", "integer"));
    assert_true(has_err(&errs, "flag", "true or false"));
    assert_true(has_err(&errs, "name", "string"));
    assert_true(has_err(&errs, "method", "\"alpha\", \"beta\""));
    assert_true(has_err(&errs, "v/1", "number"));
    assert_true(has_err(&errs, "m/1", "array"));
    assert_true(has_err(&errs, "src", "measure"));
    assert_true(has_err(&errs, "many", "array of measures"));
    assert_true(has_err(&errs, "d/z", "number"));
    assert_true(has_err(&errs, "obj", "object"));
    assert_true(has_err(&errs, "list/0", "object"));
    assert_true(has_err(&errs, "nul", "number"));
    assert_int_equal(errs.n, 14);
    /* A failed parse leaves nothing owned (defaults only). */
    assert_null(p.v.v);
    assert_null(p.name);
    ms_params_free(&fs, &p);
}

static void test_unknown_and_duplicate(void **state) {
    (void)state;
    params_t p;
    ms_errlist errs;
    const char *doc = "{\"eps\": 1, \"eps\": 2, \"bogus\": 1, \"a/b~c\": 0,"
                      " \"src\": {\"points\": [[1]], \"mass\": 1},"
                      " \"obj\": {\"zz\": 1}, \"list\": [{\"w\": 1, \"q\": 2}],"
                      " \"d\": {\"x\": 1, \"x\": 2}}";
    assert_int_equal(parse(doc, &p, &errs), MS_EINVAL);
    assert_true(has_err(&errs, "eps", "duplicate"));
    assert_true(has_err(&errs, "bogus", "unknown field"));
    assert_true(has_err(&errs, "a~1b~0c", "unknown field")); /* JSON Pointer escaping */
    assert_true(has_err(&errs, "src/mass", "unknown field"));
    assert_true(has_err(&errs, "obj/zz", "unknown field"));
    assert_true(has_err(&errs, "list/0/q", "unknown field"));
    assert_true(has_err(&errs, "d/x", "duplicate"));
    ms_params_free(&fs, &p);
}

static void test_measure_errors(void **state) {
    (void)state;
    params_t p;
    ms_errlist errs;
    assert_int_equal(parse("{\"eps\":1,\"src\":{\"points\":[[1,2],[3]]}}", &p, &errs), MS_EINVAL);
    assert_true(has_err(&errs, "src/points/1", "expected 2"));
    assert_int_equal(parse("{\"eps\":1,\"src\":{\"points\":[[1],[2]],\"weights\":[1]}}", &p, &errs),
                     MS_EINVAL);
    assert_true(has_err(&errs, "src/weights", "2 points"));
    assert_int_equal(parse("{\"eps\":1,\"src\":{\"weights\":[1]}}", &p, &errs), MS_EINVAL);
    assert_true(has_err(&errs, "src/points", "required"));
    assert_int_equal(parse("{\"eps\":1,\"src\":{\"points\":[[1]]},\"wonly\":{}}", &p, &errs),
                     MS_EINVAL);
    assert_true(has_err(&errs, "wonly/weights", "required"));
    assert_int_equal(parse("{\"eps\":1,\"src\":{\"points\":[[1,2,3],[1,2,3,4]]}}", &p, &errs),
                     MS_EINVAL);
    assert_true(has_err(&errs, "src/points/1", "more than 3"));
    assert_int_equal(parse("{\"eps\":1,\"src\":{\"points\":[[1],[\"x\"]]}}", &p, &errs), MS_EINVAL);
    assert_true(has_err(&errs, "src/points/1/0", "number"));
    assert_int_equal(parse("{\"eps\":1,\"src\":{\"points\":[7]}}", &p, &errs), MS_EINVAL);
    assert_true(has_err(&errs, "src/points/0", "array"));
    assert_int_equal(parse("{\"eps\":1,\"src\":{\"points\":[[1]]},\"many\":[{\"points\":[[1]]},"
                           "{\"points\":3}]}",
                           &p, &errs),
                     MS_EINVAL);
    assert_true(has_err(&errs, "many/1/points", "array"));
    ms_params_free(&fs, &p);
}

/* Parsing then lib validation: the paths the server turns into pointers. */
static void test_validation_paths(void **state) {
    (void)state;
    params_t p;
    ms_errlist errs;
    assert_int_equal(parse("{\"eps\": 0, \"threads\": 0, \"v\": [1, -1],"
                           " \"src\": {\"points\": [[1]], \"weights\": [-1]},"
                           " \"name\": \"far too long\", \"obj\": {\"k\": 11},"
                           " \"list\": [{\"w\":1},{\"w\":1},{\"w\":1},{\"w\":1}]}",
                           &p, &errs),
                     MS_OK);
    assert_int_equal(ms_params_validate(&fs, &p, &errs), MS_EINVAL);
    assert_true(has_err(&errs, "eps", "> 0"));
    assert_true(has_err(&errs, "threads", ">= 1"));
    assert_true(has_err(&errs, "v/1", ">= 0"));
    assert_true(has_err(&errs, "src/weights/0", "non-negative"));
    assert_true(has_err(&errs, "name", "longer"));
    assert_true(has_err(&errs, "obj/k", "<= 10"));
    assert_true(has_err(&errs, "list", "at most 3"));
    ms_params_free(&fs, &p);
    /* Missing required fields. */
    assert_int_equal(parse("{\"list\": [{\"tag\": \"x\"}]}", &p, &errs), MS_OK);
    assert_int_equal(ms_params_validate(&fs, &p, &errs), MS_EINVAL);
    assert_true(has_err(&errs, "eps", "required"));
    assert_true(has_err(&errs, "src", "required"));
    assert_true(has_err(&errs, "list/0/w", "required"));
    ms_params_free(&fs, &p);
    /* Numbers JSON cannot hold finitely (1e999 parses as infinity). */
    assert_int_equal(parse("{\"eps\": 1e999, \"src\": {\"points\": [[1e999]]}}", &p, &errs), MS_OK);
    assert_int_equal(ms_params_validate(&fs, &p, &errs), MS_EINVAL);
    assert_true(has_err(&errs, "eps", "finite"));
    assert_true(has_err(&errs, "src/points/0/0", "finite"));
    ms_params_free(&fs, &p);
}

/* How many entries name exactly this field. */
static int count_field(const ms_errlist *errs, const char *field) {
    int n = 0;
    for (size_t i = 0; i < errs->n; i++)
        n += strcmp(errs->e[i].field, field) == 0;
    return n;
}

/* A cross-field rule that must not run while fields are individually
 * invalid (it would read absent values). */
static int check_calls;
static ms_status check_eps_seed(const void *params, ms_errlist *errs) {
    const params_t *p = params;
    check_calls++;
    if (p->seed == 13)
        return ms_errlist_addf(errs, MS_EINVAL, "seed", "unlucky with eps %g", p->eps);
    return MS_OK;
}

/* Type errors do not hide range errors: every offending field is reported,
 * each once, nothing about a field that already has a type error. */
static void test_all_errors_at_once(void **state) {
    (void)state;
    const char *doc = "{\"eps\": -1, \"seed\": \"x\", \"threads\": 0,"
                      " \"src\": {\"points\": [[0, \"x\"]]}, \"v\": [1, -2],"
                      " \"obj\": {\"k\": 11, \"a\": \"q\"},"
                      " \"list\": [{\"w\": \"no\"}, {\"tag\": \"toolong\"}],"
                      " \"many\": [{\"points\": [[1]]}, 5], \"nul\": 1e999}";
    cJSON *j = cJSON_Parse(doc);
    assert_non_null(j);
    params_t p;
    ms_errlist errs;
    ms_errlist_clear(&errs);
    check_calls = 0;
    assert_int_equal(codec_params_read(&fs, check_eps_seed, j, &p, &errs), MS_EINVAL);
    cJSON_Delete(j);
    static const char *const want[][2] = {
        {"seed", "integer"},      {"src/points/0/1", "number"},
        {"obj/a", "number"},      {"list/0/w", "number"},
        {"many/1", "measure"},    {"eps", "> 0"},
        {"threads", ">= 1"},      {"v/1", ">= 0"},
        {"obj/k", "<= 10"},       {"list/1/w", "required"},
        {"list/1/tag", "longer"}, {"nul", "finite"},
    };
    size_t nwant = sizeof want / sizeof want[0];
    for (size_t i = 0; i < nwant; i++) {
        assert_true(has_err(&errs, want[i][0], want[i][1]));
        assert_int_equal(count_field(&errs, want[i][0]), 1);
    }
    /* Not "src is required", "list/0/w is required" or "many/1 must have a
     * point": those fields already have their type errors. */
    assert_int_equal(errs.n, nwant);
    assert_int_equal(errs.dropped, 0);
    assert_int_equal(check_calls, 0);
    assert_null(p.v.v); /* released */
    ms_params_free(&fs, &p);
    /* Fields all valid on their own: the cross-field check runs. */
    j = cJSON_Parse("{\"eps\": 2.5, \"seed\": 13, \"src\": {\"points\": [[1]]}}");
    ms_errlist_clear(&errs);
    assert_int_equal(codec_params_read(&fs, check_eps_seed, j, &p, &errs), MS_EINVAL);
    assert_int_equal(check_calls, 1);
    assert_true(has_err(&errs, "seed", "unlucky"));
    assert_int_equal(errs.n, 1);
    ms_params_free(&fs, &p);
    /* Range errors alone: check skipped, every field reported. */
    ms_errlist_clear(&errs);
    cJSON_Delete(j);
    j = cJSON_Parse("{\"eps\": 0, \"seed\": 13, \"threads\": -3, \"src\": {\"points\": [[1]]}}");
    assert_int_equal(codec_params_read(&fs, check_eps_seed, j, &p, &errs), MS_EINVAL);
    assert_int_equal(check_calls, 1);
    assert_int_equal(errs.n, 2);
    assert_true(has_err(&errs, "eps", "> 0") && has_err(&errs, "threads", ">= 1"));
    ms_params_free(&fs, &p);
    /* Valid: MS_OK and the params are kept. */
    ms_errlist_clear(&errs);
    cJSON_Delete(j);
    j = cJSON_Parse("{\"eps\": 1, \"src\": {\"points\": [[1]]}, \"v\": [3]}");
    assert_int_equal(codec_params_read(&fs, check_eps_seed, j, &p, &errs), MS_OK);
    assert_true(p.v.n == 1 && p.v.v[0] == 3);
    ms_params_free(&fs, &p);
    cJSON_Delete(j);
    /* The contract's example, through a whole job body with the real `ot`
     * kind: the type error and the range error, and the missing target. */
    const char *body = "{\"kind\": \"ot\", \"params\": {\"source\": {\"points\": [[0, \"x\"]]},"
                       " \"epsilon\": -1}}";
    codec_job cj;
    codec_problem pb;
    assert_int_equal(codec_job_parse(body, strlen(body), &cj, &pb), MS_EINVAL);
    assert_int_equal(pb.status, 422);
    assert_true(has_err(&pb.errors, "params/source/points/0/1", "number"));
    assert_true(has_err(&pb.errors, "params/epsilon", "> 0"));
    assert_true(has_err(&pb.errors, "params/target", "required"));
    assert_int_equal(pb.errors.n, 3);
    assert_non_null(strstr(pb.detail, "3 fields"));
}

/* Every allocation of a read with type and range errors fails in turn:
 * MS_ENOMEM or the same answer, nothing leaks. */
static void test_read_fault_injection(void **state) {
    (void)state;
    cJSON *j = cJSON_Parse("{\"eps\": -1, \"seed\": \"x\", \"v\": [1, -2],"
                           " \"many\": [{\"points\": [[1]]}, 5], \"d\": {\"x\": 1},"
                           " \"list\": [{\"w\": 1, \"tag\": \"t\"}], \"name\": \"nm\"}");
    assert_non_null(j);
    for (long n = 0;; n++) {
        params_t p;
        ms_errlist errs;
        ms_errlist_clear(&errs);
        ms_alloc_fail_after(n);
        ms_status s = codec_params_read(&fs, NULL, j, &p, &errs);
        ms_alloc_fail_after(-1);
        ms_params_free(&fs, &p);
        if (s == MS_EINVAL) {
            assert_int_equal(errs.n, 5); /* seed, many/1, eps, v/1, src */
            break;
        }
        assert_int_equal(s, MS_ENOMEM);
    }
    cJSON_Delete(j);
}

static void test_params_not_object(void **state) {
    (void)state;
    params_t p;
    ms_errlist errs;
    assert_int_equal(parse("[1]", &p, &errs), MS_EINVAL);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.e[0].field, "");
}

/* Every allocation of a full parse fails in turn: MS_ENOMEM, nothing leaks
 * (ASan's leak checker runs this suite). */
static void test_parse_fault_injection(void **state) {
    (void)state;
    cJSON *j = cJSON_Parse(full_doc);
    assert_non_null(j);
    int failures = 0;
    for (long n = 0;; n++) {
        params_t p;
        ms_errlist errs;
        ms_errlist_clear(&errs);
        ms_alloc_fail_after(n);
        ms_status s = codec_params_parse(&fs, j, &p, &errs);
        long allocs = ms_alloc_count();
        ms_alloc_fail_after(-1);
        ms_params_free(&fs, &p);
        if (s == MS_OK) {
            /* Every allocation the parse makes was made to fail once. */
            assert_int_equal(allocs, failures);
            break;
        }
        assert_int_equal(s, MS_ENOMEM);
        failures++;
    }
    assert_true(failures >= 15);
    cJSON_Delete(j);
}

static void test_job_envelope(void **state) {
    (void)state;
    codec_job cj;
    codec_problem pb;
    const char *b1 = "{\"kind\": \"ot\", \"params\": {}";
    assert_int_equal(codec_job_parse(b1, strlen(b1), &cj, &pb), MS_EINVAL);
    assert_int_equal(pb.status, 400);
    assert_string_equal(pb.type, "malformed-json");
    assert_int_equal(codec_job_parse("", 0, &cj, &pb), MS_EINVAL);
    assert_int_equal(pb.status, 400);
    const char *b2 = "{} x";
    assert_int_equal(codec_job_parse(b2, strlen(b2), &cj, &pb), MS_EINVAL);
    assert_int_equal(pb.status, 400);
    assert_non_null(strstr(pb.detail, "after the JSON"));
    /* Length-bounded: what follows len is not read. */
    const char *b3 = "[1]GARBAGE";
    assert_int_equal(codec_job_parse(b3, 3, &cj, &pb), MS_EINVAL);
    assert_int_equal(pb.status, 422);
    const char *b4 = "{\"kind\": \"no-such-kind\", \"params\": {}, \"priority\": 12,"
                     " \"timeout_s\": -1, \"label\": 5, \"extra\": true}";
    assert_int_equal(codec_job_parse(b4, strlen(b4), &cj, &pb), MS_EINVAL);
    assert_int_equal(pb.status, 422);
    assert_true(has_err(&pb.errors, "kind", "unknown kind"));
    assert_true(has_err(&pb.errors, "priority", "0 to 9"));
    assert_true(has_err(&pb.errors, "timeout_s", "> 0"));
    assert_true(has_err(&pb.errors, "label", "string"));
    assert_true(has_err(&pb.errors, "extra", "unknown field"));
    const char *b5 = "{\"params\": 3}";
    assert_int_equal(codec_job_parse(b5, strlen(b5), &cj, &pb), MS_EINVAL);
    assert_true(has_err(&pb.errors, "kind", "required"));
    const char *b6 = "{\"kind\": 1}";
    assert_int_equal(codec_job_parse(b6, strlen(b6), &cj, &pb), MS_EINVAL);
    assert_true(has_err(&pb.errors, "kind", "string"));
    assert_true(has_err(&pb.errors, "params", "required"));
    /* The problem document names every pointer with the leading slash. */
    sbuf b = SBUF_INIT;
    codec_problem_write(&b, &pb);
    cJSON *doc = cJSON_Parse(sbuf_cstr(&b));
    assert_non_null(doc);
    assert_int_equal(cJSON_GetObjectItem(doc, "status")->valueint, 422);
    assert_string_equal(cJSON_GetObjectItem(doc, "type")->valuestring, "/problems/invalid-params");
    cJSON *errs = cJSON_GetObjectItem(doc, "errors");
    assert_int_equal(cJSON_GetArraySize(errs), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(errs, 0), "pointer")->valuestring,
                        "/kind");
    cJSON_Delete(doc);
    sbuf_free(&b);
}

/* With cJSON's allocations routed through ms_alloc, a parse that runs out of
 * memory says 503, not "malformed". */
static void test_job_parse_oom(void **state) {
    (void)state;
    codec_job cj;
    codec_problem pb;
    const char *body = "{\"kind\": \"x\", \"params\": {\"a\": [1, 2, 3]}, \"label\": \"l\"}";
    int saw503 = 0;
    for (long n = 0;; n++) {
        ms_alloc_fail_after(n);
        ms_status s = codec_job_parse(body, strlen(body), &cj, &pb);
        ms_alloc_fail_after(-1);
        if (s == MS_ENOMEM) {
            assert_int_equal(pb.status, 503);
            saw503 = 1;
            continue;
        }
        assert_int_equal(s, MS_EINVAL); /* unknown kind, once memory suffices */
        assert_int_equal(pb.status, 422);
        break;
    }
    assert_true(saw503);
}

static void test_value_writer(void **state) {
    (void)state;
    ms_value *v = ms_value_new_object();
    double vec[3] = {1.0 / 3.0, -2e-300, NAN};
    double mat[6] = {1, 2, 3, 4, 5, INFINITY};
    long long iv[3] = {-9007199254740993LL, 0, 42};
    ms_obj_num(v, "third", 1.0 / 3.0);
    ms_obj_int(v, "big", 1234567890123LL);
    ms_obj_bool(v, "yes", 1);
    ms_obj_null(v, "nothing");
    ms_obj_str(v, "s", "quote\" back\\ nl\n ctl\x01 é bad\xff");
    ms_obj_vec(v, "vec", vec, 3, 1);
    ms_obj_mat(v, "mat", mat, 2, 3, 3);
    ms_obj_ivec(v, "iv", iv, 3);
    ms_value *arr = ms_obj_arr(v, "arr");
    ms_arr_num(arr, 0.1);
    ms_obj_num(ms_arr_obj(arr), "x", -0.5);
    ms_value *empty = ms_obj_obj(v, "empty");
    (void)empty;
    sbuf b = SBUF_INIT;
    assert_int_equal(codec_value_write(&b, v), MS_OK);
    cJSON *j = cJSON_Parse(sbuf_cstr(&b));
    assert_non_null(j);
    double third = cJSON_GetObjectItem(j, "third")->valuedouble;
    assert_true(third == 1.0 / 3.0); /* %.17g round-trips exactly */
    assert_true(cJSON_GetObjectItem(j, "big")->valuedouble == 1234567890123.0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "yes")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "nothing")));
    assert_string_equal(cJSON_GetObjectItem(j, "s")->valuestring,
                        "quote\" back\\ nl\n ctl\x01 é bad\xEF\xBF\xBD");
    cJSON *jv = cJSON_GetObjectItem(j, "vec");
    assert_true(cJSON_GetArrayItem(jv, 1)->valuedouble == -2e-300);
    assert_true(cJSON_IsNull(cJSON_GetArrayItem(jv, 2)));
    cJSON *jm = cJSON_GetObjectItem(j, "mat");
    assert_int_equal(cJSON_GetArraySize(jm), 2);
    assert_true(cJSON_GetArrayItem(cJSON_GetArrayItem(jm, 1), 1)->valuedouble == 5);
    assert_true(cJSON_IsNull(cJSON_GetArrayItem(cJSON_GetArrayItem(jm, 1), 2)));
    assert_non_null(strstr(sbuf_cstr(&b), "[-9007199254740993,0,42]"));
    assert_non_null(strstr(sbuf_cstr(&b), "\"arr\":[0.1,{\"x\":-0.5}]"));
    assert_non_null(strstr(sbuf_cstr(&b), "\"empty\":{}"));
    cJSON_Delete(j);
    /* Random doubles round-trip bit for bit. */
    uint64_t seed = 2385;
    for (int i = 0; i < 1000; i++) {
        double x = (test_uniform(&seed) - 0.5) * pow(10, (int)(test_uniform(&seed) * 600) - 300);
        sbuf_reset(&b);
        sbuf_json_num(&b, x);
        assert_true(strtod(sbuf_cstr(&b), NULL) == x);
    }
    sbuf_free(&b);
    ms_value_free(v);
}

static void test_value_writer_oom(void **state) {
    (void)state;
    ms_value *v = ms_value_new_object();
    double big[4096];
    for (int i = 0; i < 4096; i++)
        big[i] = i * 1.1;
    ms_obj_vec(v, "big", big, 4096, 1);
    sbuf b = SBUF_INIT;
    ms_alloc_fail_after(2);
    ms_status s = codec_value_write(&b, v);
    ms_alloc_fail_after(-1);
    assert_int_equal(s, MS_ENOMEM);
    assert_null(sbuf_take(&b));
    ms_value_free(v);
}

/* Numbers are written in their shortest form that reads back exactly. */
static void test_numbers_round_trip(void **state) {
    (void)state;
    uint64_t seed = 99;
    sbuf b = SBUF_INIT;
    for (int i = 0; i < 20000; i++) {
        double u = test_uniform(&seed), v = test_uniform(&seed);
        double x = (u - 0.5) * pow(10.0, (v - 0.5) * 600);
        if (i % 7 == 0)
            x = round(x * 1e6) / 1e6; /* short decimals */
        sbuf_reset(&b);
        sbuf_json_num(&b, x);
        assert_true(strtod(sbuf_cstr(&b), NULL) == x);
        assert_true(b.len <= 24);
    }
    sbuf_reset(&b);
    sbuf_json_num(&b, 0.1);
    assert_string_equal(sbuf_cstr(&b), "0.1");
    sbuf_free(&b);
}

static void test_progress_writer(void **state) {
    (void)state;
    ms_progress p;
    memset(&p, 0, sizeof p);
    p.iteration = 12;
    p.fraction = NAN;
    ms_progress_set(&p, "err", 1e-6);
    ms_progress_set(&p, "obj", 2.5);
    sbuf b = SBUF_INIT;
    codec_progress_write(&b, &p);
    assert_string_equal(sbuf_cstr(&b),
                        "{\"iteration\":12,\"fraction\":null,\"metrics\":{\"err\":1e-06,"
                        "\"obj\":2.5}}");
    sbuf_free(&b);
}

static cJSON *prop(cJSON *schema, const char *name) {
    return cJSON_GetObjectItem(cJSON_GetObjectItem(schema, "properties"), name);
}

static void test_schema(void **state) {
    (void)state;
    cJSON *s = codec_schema(&fs);
    assert_non_null(s);
    assert_string_equal(cJSON_GetObjectItem(s, "$schema")->valuestring,
                        "https://json-schema.org/draft/2020-12/schema");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(s, "additionalProperties")));
    cJSON *reqd = cJSON_GetObjectItem(s, "required");
    assert_int_equal(cJSON_GetArraySize(reqd), 2);
    assert_string_equal(cJSON_GetArrayItem(reqd, 0)->valuestring, "eps");
    cJSON *eps = prop(s, "eps");
    assert_string_equal(cJSON_GetObjectItem(eps, "type")->valuestring, "number");
    assert_true(cJSON_GetObjectItem(eps, "exclusiveMinimum")->valuedouble == 0);
    assert_string_equal(cJSON_GetObjectItem(eps, "description")->valuestring, "regularisation");
    assert_null(cJSON_GetObjectItem(eps, "default"));
    cJSON *th = prop(s, "threads");
    assert_string_equal(cJSON_GetObjectItem(th, "type")->valuestring, "integer");
    assert_true(cJSON_GetObjectItem(th, "minimum")->valuedouble == 1);
    assert_true(cJSON_GetObjectItem(th, "default")->valuedouble == 1);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(prop(s, "flag"), "default")));
    cJSON *m = prop(s, "method");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(m, "enum")), 2);
    assert_string_equal(cJSON_GetObjectItem(m, "default")->valuestring, "beta");
    assert_true(cJSON_GetObjectItem(prop(s, "name"), "maxLength")->valuedouble == 8);
    cJSON *src = prop(s, "src");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(src, "required"), 0)->valuestring,
                        "points");
    /* Weights alone, or points (weights then default to uniform): a
     * schema requiring weights would refuse the contract's own measures. */
    cJSON *wo = prop(s, "wonly");
    assert_null(cJSON_GetObjectItem(wo, "required"));
    cJSON *any = cJSON_GetObjectItem(wo, "anyOf");
    assert_int_equal(cJSON_GetArraySize(any), 2);
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(any, 0), "required"), 0)
            ->valuestring,
        "points");
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(any, 1), "required"), 0)
            ->valuestring,
        "weights");
    cJSON *obj = prop(s, "obj");
    assert_true(cJSON_GetObjectItem(prop(obj, "k"), "maximum")->valuedouble == 10);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(obj, "additionalProperties")));
    cJSON *list = prop(s, "list");
    assert_true(cJSON_GetObjectItem(list, "maxItems")->valuedouble == 3);
    cJSON *nul = cJSON_GetObjectItem(prop(s, "nul"), "type");
    assert_true(cJSON_IsArray(nul) && cJSON_GetArraySize(nul) == 2);
    assert_string_equal(cJSON_GetObjectItem(prop(s, "d"), "type")->valuestring, "object");
    cJSON_Delete(s);
}

static void test_openapi(void **state) {
    (void)state;
    cJSON *doc = codec_openapi();
    assert_non_null(doc);
    assert_string_equal(cJSON_GetObjectItem(doc, "openapi")->valuestring, "3.1.0");
    cJSON *paths = cJSON_GetObjectItem(doc, "paths");
    /* Every row of the routes table is described, under its method. */
    for (size_t i = 0; i < http_nroutes; i++) {
        char method[16], path[128];
        assert_int_equal(sscanf(http_routes[i].name, "%15s %127s", method, path), 2);
        for (char *m = method; *m; m++)
            *m = (char)(*m - 'A' + 'a');
        cJSON *item = cJSON_GetObjectItem(paths, path);
        if (!item || !cJSON_GetObjectItem(item, method))
            fail_msg("route %s is not in the OpenAPI document", http_routes[i].name);
        /* A route that needs the token says it may answer 401. */
        cJSON *resp = cJSON_GetObjectItem(cJSON_GetObjectItem(item, method), "responses");
        if (!http_routes[i].open && !cJSON_GetObjectItem(resp, "401"))
            fail_msg("route %s does not document 401", http_routes[i].name);
    }
    assert_non_null(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "components"), "schemas"), "JobRequest"));
    cJSON_Delete(doc);
}

static void test_problem_and_error(void **state) {
    (void)state;
    char slug[64];
    codec_status_slug(MS_ENUMERIC, slug, sizeof slug);
    assert_string_equal(slug, "numerical-failure");
    ms_err e;
    ms_fail(&e, MS_ENUMERIC, "x/1", "NaN at iteration %d", 7);
    sbuf b = SBUF_INIT;
    codec_error_write(&b, &e);
    cJSON *j = cJSON_Parse(sbuf_cstr(&b));
    assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, "/problems/numerical-failure");
    assert_string_equal(cJSON_GetObjectItem(j, "detail")->valuestring, "x/1: NaN at iteration 7");
    cJSON_Delete(j);
    sbuf_free(&b);
}

int main(void) {
    codec_json_hooks_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_parse),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_type_errors),
        cmocka_unit_test(test_unknown_and_duplicate),
        cmocka_unit_test(test_measure_errors),
        cmocka_unit_test(test_validation_paths),
        cmocka_unit_test(test_params_not_object),
        cmocka_unit_test(test_parse_fault_injection),
        cmocka_unit_test(test_all_errors_at_once),
        cmocka_unit_test(test_read_fault_injection),
        cmocka_unit_test(test_job_envelope),
        cmocka_unit_test(test_job_parse_oom),
        cmocka_unit_test(test_value_writer),
        cmocka_unit_test(test_value_writer_oom),
        cmocka_unit_test(test_numbers_round_trip),
        cmocka_unit_test(test_progress_writer),
        cmocka_unit_test(test_schema),
        cmocka_unit_test(test_openapi),
        cmocka_unit_test(test_problem_and_error),
    };
    return TEST_RUN(tests, NULL, NULL);
}

/* games_expr.c — recursive-descent parser to a postfix tape, reverse-mode and
 * forward-mode evaluation. See games_expr.h for the language. */
#include "games_expr.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_alloc.h"

typedef enum {
    OP_CONST,
    OP_X,
    OP_Y,
    OP_NEG,
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_POWI, /* integer exponent held in `k` */
    OP_POW,  /* general power: base > 0 */
    OP_SIN,
    OP_COS,
    OP_TAN,
    OP_ATAN,
    OP_EXP,
    OP_LOG,
    OP_SQRT,
    OP_ABS,
    OP_TANH,
    OP_SIGMOID,
    OP_SOFTPLUS,
    OP_RELU,
    OP_MAX,
    OP_MIN
} op_t;

static const struct {
    const char *name;
    op_t op;
    int arity;
} functions[] = {{"sin", OP_SIN, 1},         {"cos", OP_COS, 1},           {"tan", OP_TAN, 1},
                 {"atan", OP_ATAN, 1},       {"exp", OP_EXP, 1},           {"log", OP_LOG, 1},
                 {"sqrt", OP_SQRT, 1},       {"abs", OP_ABS, 1},           {"tanh", OP_TANH, 1},
                 {"sigmoid", OP_SIGMOID, 1}, {"softplus", OP_SOFTPLUS, 1}, {"relu", OP_RELU, 1},
                 {"max", OP_MAX, 2},         {"min", OP_MIN, 2},           {"pow", OP_POW, 2}};

typedef struct {
    unsigned char op;
    unsigned short a, b; /* operand entries (< this entry) */
    long k;              /* OP_X/OP_Y: variable index; OP_POWI: exponent */
    double c;            /* OP_CONST value */
} instr;

struct games_expr {
    size_t n, d, e, max_x, max_y;
    instr *tape;
};

/* ---- parser ---------------------------------------------------------- */

typedef struct {
    const char *s;
    size_t pos, depth, nodes;
    size_t d, e;
    const char *const *names;
    const double *values;
    size_t n_params;
    games_expr *ex;
    size_t cap;
    size_t err_pos;
    char msg[200];
    int failed;
} parser;

#define FAIL(P, at, ...)                                     \
    do {                                                     \
        if (!(P)->failed) {                                  \
            (P)->failed = 1;                                 \
            (P)->err_pos = (at);                             \
            snprintf((P)->msg, sizeof(P)->msg, __VA_ARGS__); \
        }                                                    \
        return -1;                                           \
    } while (0)

static void skip_ws(parser *P) {
    while (P->s[P->pos] == ' ' || P->s[P->pos] == '\t' || P->s[P->pos] == '\n' ||
           P->s[P->pos] == '\r')
        P->pos++;
}

static int is_const(const parser *P, long i) {
    return P->ex->tape[i].op == OP_CONST;
}

static double eval1(op_t op, double u, double v, long k);
static int binary(op_t op);

/* Append an instruction; folds it when every operand is a constant (the
 * operands are then the last entries of the tape and are dropped). */
static long emit(parser *P, op_t op, long a, long b, long k, double c, size_t at) {
    if (++P->nodes > GAMES_EXPR_MAX_NODES)
        FAIL(P, at, "more than %d nodes", GAMES_EXPR_MAX_NODES);
    int arity = op <= OP_Y ? 0 : binary(op) ? 2 : 1;
    if (arity > 0 && is_const(P, a) && (arity == 1 || is_const(P, b))) {
        double u = P->ex->tape[a].c, v = arity == 2 ? P->ex->tape[b].c : 0;
        double r = eval1(op, u, v, k);
        if ((op == OP_LOG && !(u > 0)) || (op == OP_SQRT && u < 0) || (op == OP_POW && !(u > 0)))
            FAIL(P, at, "constant subexpression outside the function's domain");
        if (!isfinite(r))
            FAIL(P, at, "constant subexpression is not finite");
        P->ex->n = (size_t)a; /* a < b, both at the end */
        op = OP_CONST;
        c = r;
        a = b = 0;
    }
    if (P->ex->n >= P->cap)
        FAIL(P, at, "expression too long");
    instr *t = &P->ex->tape[P->ex->n];
    t->op = (unsigned char)op;
    t->a = (unsigned short)(a < 0 ? 0 : a);
    t->b = (unsigned short)(b < 0 ? 0 : b);
    t->k = k;
    t->c = c;
    return (long)P->ex->n++;
}

static long parse_expr(parser *P);
static long parse_unary(parser *P);

static long parse_number(parser *P) {
    size_t start = P->pos, i = P->pos;
    const char *s = P->s;
    while (isdigit((unsigned char)s[i]))
        i++;
    if (s[i] == '.') {
        i++;
        while (isdigit((unsigned char)s[i]))
            i++;
    }
    if (i == start + 1 && s[start] == '.')
        FAIL(P, start, "malformed number");
    if (s[i] == 'e' || s[i] == 'E') {
        size_t j = i + 1;
        if (s[j] == '+' || s[j] == '-')
            j++;
        if (!isdigit((unsigned char)s[j]))
            FAIL(P, i, "malformed exponent in number");
        while (isdigit((unsigned char)s[j]))
            j++;
        i = j;
    }
    char buf[64];
    if (i - start >= sizeof buf)
        FAIL(P, start, "number literal too long");
    memcpy(buf, s + start, i - start);
    buf[i - start] = 0;
    double v = strtod(buf, NULL);
    if (!isfinite(v))
        FAIL(P, start, "number literal out of range");
    P->pos = i;
    return emit(P, OP_CONST, -1, -1, 0, v, start);
}

/* x<k> / y<k> with k a decimal index ≥ 1 and no leading zero. */
static int variable(const char *id, size_t len, int *side, long *k) {
    if (len < 2 || (id[0] != 'x' && id[0] != 'y') || id[1] == '0')
        return 0;
    long v = 0;
    for (size_t i = 1; i < len; i++) {
        if (!isdigit((unsigned char)id[i]) || v > 1000)
            return 0;
        v = 10 * v + (id[i] - '0');
    }
    *side = id[0] == 'x' ? 0 : 1;
    *k = v;
    return 1;
}

static long parse_prim(parser *P) {
    skip_ws(P);
    size_t at = P->pos;
    char ch = P->s[at];
    if (isdigit((unsigned char)ch) || ch == '.')
        return parse_number(P);
    if (ch == '(') {
        P->pos++;
        long r = parse_expr(P);
        if (r < 0)
            return -1;
        skip_ws(P);
        if (P->s[P->pos] != ')')
            FAIL(P, P->pos, "expected ')' to close the '(' at position %zu", at);
        P->pos++;
        return r;
    }
    if (!(isalpha((unsigned char)ch) || ch == '_')) {
        if (ch == 0)
            FAIL(P, at, "unexpected end of expression");
        if ((unsigned char)ch >= 128)
            FAIL(P, at, "non-ASCII character");
        FAIL(P, at, "unexpected '%c'", ch);
    }
    size_t len = 0;
    while (isalnum((unsigned char)P->s[at + len]) || P->s[at + len] == '_')
        len++;
    if (len > GAMES_EXPR_MAX_IDENT)
        FAIL(P, at, "identifier longer than %d characters", GAMES_EXPR_MAX_IDENT);
    const char *id = P->s + at;
    P->pos = at + len;
    skip_ws(P);
    if (P->s[P->pos] == '(') {
        for (size_t f = 0; f < sizeof functions / sizeof functions[0]; f++) {
            if (strlen(functions[f].name) != len || strncmp(functions[f].name, id, len) != 0)
                continue;
            P->pos++;
            long args[2];
            for (int i = 0; i < functions[f].arity; i++) {
                if (i > 0) {
                    skip_ws(P);
                    if (P->s[P->pos] != ',')
                        FAIL(P, P->pos, "%s takes %d arguments: expected ','", functions[f].name,
                             functions[f].arity);
                    P->pos++;
                }
                if ((args[i] = parse_expr(P)) < 0)
                    return -1;
            }
            skip_ws(P);
            if (P->s[P->pos] == ',')
                FAIL(P, P->pos, "%s takes %d argument%s", functions[f].name, functions[f].arity,
                     functions[f].arity > 1 ? "s" : "");
            if (P->s[P->pos] != ')')
                FAIL(P, P->pos, "expected ')' after the arguments of %s", functions[f].name);
            P->pos++;
            op_t op = functions[f].op;
            long b = functions[f].arity == 2 ? args[1] : -1;
            if (op == OP_POW && is_const(P, b)) {
                double c = P->ex->tape[b].c;
                if (c == floor(c) && fabs(c) <= 1024) {
                    P->ex->n--; /* drop the constant exponent */
                    return emit(P, OP_POWI, args[0], -1, (long)c, 0, at);
                }
            }
            return emit(P, op, args[0], b, 0, 0, at);
        }
        FAIL(P, at, "unknown function '%.*s'", (int)len, id);
    }
    int side;
    long k;
    if (variable(id, len, &side, &k)) {
        size_t lim = side == 0 ? P->d : P->e;
        if ((size_t)k > lim)
            FAIL(P, at, "variable '%.*s' but the %s space has dimension %zu", (int)len, id,
                 side == 0 ? "x" : "y", lim);
        if (side == 0 && (size_t)k > P->ex->max_x)
            P->ex->max_x = (size_t)k;
        if (side == 1 && (size_t)k > P->ex->max_y)
            P->ex->max_y = (size_t)k;
        return emit(P, side == 0 ? OP_X : OP_Y, -1, -1, k - 1, 0, at);
    }
    for (size_t i = 0; i < P->n_params; i++)
        if (strlen(P->names[i]) == len && strncmp(P->names[i], id, len) == 0)
            return emit(P, OP_CONST, -1, -1, 0, P->values[i], at);
    if (len == 2 && strncmp(id, "pi", 2) == 0)
        return emit(P, OP_CONST, -1, -1, 0, M_PI, at);
    if (len == 1 && id[0] == 'e')
        return emit(P, OP_CONST, -1, -1, 0, M_E, at);
    FAIL(P, at, "unknown name '%.*s'", (int)len, id);
}

static long parse_pow(parser *P) {
    long base = parse_prim(P);
    if (base < 0)
        return -1;
    skip_ws(P);
    if (P->s[P->pos] != '^')
        return base;
    size_t at = P->pos++;
    long ex = parse_unary(P); /* right-associative: a^b^c = a^(b^c) */
    if (ex < 0)
        return -1;
    if (is_const(P, ex)) {
        double c = P->ex->tape[ex].c;
        if (c == floor(c) && fabs(c) <= 1024) {
            P->ex->n--;
            return emit(P, OP_POWI, base, -1, (long)c, 0, at);
        }
    }
    return emit(P, OP_POW, base, ex, 0, 0, at);
}

static long parse_unary(parser *P) {
    skip_ws(P);
    size_t at = P->pos;
    if (++P->depth > GAMES_EXPR_MAX_DEPTH)
        FAIL(P, at, "nesting deeper than %d", GAMES_EXPR_MAX_DEPTH);
    long r;
    char ch = P->s[at];
    if (ch == '-' || ch == '+') {
        P->pos++;
        long u = parse_unary(P);
        if (u < 0)
            return -1;
        r = ch == '-' ? emit(P, OP_NEG, u, -1, 0, 0, at) : u;
    } else {
        r = parse_pow(P);
    }
    P->depth--;
    return r;
}

static long parse_term(parser *P) {
    long l = parse_unary(P);
    for (;;) {
        if (l < 0)
            return -1;
        skip_ws(P);
        char ch = P->s[P->pos];
        if (ch != '*' && ch != '/')
            return l;
        size_t at = P->pos++;
        long r = parse_unary(P);
        if (r < 0)
            return -1;
        l = emit(P, ch == '*' ? OP_MUL : OP_DIV, l, r, 0, 0, at);
    }
}

/* Nesting is counted in parse_unary only: every '(' and every prefix sign
 * passes through it once, and so does every recursion of parse_expr. */
static long parse_expr(parser *P) {
    long l = parse_term(P);
    for (;;) {
        if (l < 0)
            return -1;
        skip_ws(P);
        char ch = P->s[P->pos];
        if (ch != '+' && ch != '-')
            break;
        size_t at = P->pos++;
        long r = parse_term(P);
        if (r < 0)
            return -1;
        l = emit(P, ch == '+' ? OP_ADD : OP_SUB, l, r, 0, 0, at);
    }
    return l;
}

static int valid_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > GAMES_EXPR_MAX_IDENT || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return 0;
    return 1;
}

static int reserved_name(const char *s) {
    int side;
    long k;
    if (variable(s, strlen(s), &side, &k) || !strcmp(s, "pi") || !strcmp(s, "e"))
        return 1;
    for (size_t f = 0; f < sizeof functions / sizeof functions[0]; f++)
        if (!strcmp(s, functions[f].name))
            return 1;
    return 0;
}

ms_status games_expr_compile(const char *src, size_t d, size_t e, const char *const *names,
                             const double *values, size_t n_params, const char *field,
                             const char *params_field, games_expr **out, size_t *err_pos,
                             ms_err *err) {
    char at[MS_ERR_FIELD_MAX];
    *out = NULL;
    if (d > GAMES_EXPR_MAX_DIM || e > GAMES_EXPR_MAX_DIM)
        return ms_fail(err, MS_EINVAL, field, "dimensions %zu, %zu: at most %d per player", d, e,
                       GAMES_EXPR_MAX_DIM);
    if (n_params > GAMES_EXPR_MAX_PARAMS)
        return ms_fail(err, MS_EINVAL, params_field, "at most %d parameters",
                       GAMES_EXPR_MAX_PARAMS);
    for (size_t i = 0; i < n_params; i++) {
        snprintf(at, sizeof at, "%s/%s", params_field, names[i]);
        if (!valid_name(names[i]))
            return ms_fail(err, MS_EINVAL, at, "parameter names match [A-Za-z_][A-Za-z0-9_]{0,31}");
        if (reserved_name(names[i]))
            return ms_fail(err, MS_EINVAL, at, "is a variable, constant or function name");
        if (!isfinite(values[i]))
            return ms_fail(err, MS_EINVAL, at, "must be a finite number");
    }
    size_t len = strlen(src);
    if (len > GAMES_EXPR_MAX_SRC)
        return ms_fail(err, MS_EINVAL, field, "longer than %d bytes", GAMES_EXPR_MAX_SRC);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)src[i] >= 128 || (src[i] < 32 && !isspace((unsigned char)src[i]))) {
            if (err_pos)
                *err_pos = i;
            return ms_fail(err, MS_EINVAL, field,
                           "at position %zu: not a printable ASCII character", i);
        }
    games_expr *ex = ms_calloc(1, sizeof *ex);
    /* Folding never lengthens the tape beyond the node count. */
    instr *tape = ms_malloc(GAMES_EXPR_MAX_NODES, sizeof *tape);
    if (!ex || !tape) {
        ms_free(ex);
        ms_free(tape);
        return ms_fail(err, MS_ENOMEM, field, "expression tape");
    }
    ex->tape = tape;
    ex->d = d;
    ex->e = e;
    parser P = {.s = src,
                .d = d,
                .e = e,
                .names = names,
                .values = values,
                .n_params = n_params,
                .ex = ex,
                .cap = GAMES_EXPR_MAX_NODES};
    long root = parse_expr(&P);
    if (root >= 0) {
        skip_ws(&P);
        if (P.s[P.pos] != 0) {
            P.failed = 1;
            P.err_pos = P.pos;
            snprintf(P.msg, sizeof P.msg, "unexpected '%c' after a complete expression",
                     P.s[P.pos]);
        }
    }
    if (P.failed) {
        if (err_pos)
            *err_pos = P.err_pos;
        games_expr_free(ex);
        return ms_fail(err, MS_EINVAL, field, "at position %zu: %s", P.err_pos, P.msg);
    }
    /* The root is the last entry: every emit appends after its operands. */
    *out = ex;
    return MS_OK;
}

void games_expr_free(games_expr *ex) {
    if (!ex)
        return;
    ms_free(ex->tape);
    ms_free(ex);
}

size_t games_expr_length(const games_expr *ex) {
    return ex->n;
}
size_t games_expr_ws_size(const games_expr *ex) {
    return 2 * ex->n;
}
size_t games_expr_fwd_ws_size(const games_expr *ex) {
    return ex->n * (1 + ex->d + ex->e);
}
size_t games_expr_max_x(const games_expr *ex) {
    return ex->max_x;
}
size_t games_expr_max_y(const games_expr *ex) {
    return ex->max_y;
}

/* ---- evaluation ------------------------------------------------------ */

static double powi(double u, long k) {
    unsigned long n = (unsigned long)(k < 0 ? -k : k);
    double r = 1, b = u;
    while (n) {
        if (n & 1)
            r *= b;
        b *= b;
        n >>= 1;
    }
    return k < 0 ? 1.0 / r : r;
}

static double sigmoid(double u) {
    if (u >= 0)
        return 1.0 / (1.0 + exp(-u));
    double t = exp(u);
    return t / (1.0 + t);
}

/* Value of one operation (domain checks are the caller's). */
static double eval1(op_t op, double u, double v, long k) {
    switch (op) {
    case OP_NEG:
        return -u;
    case OP_ADD:
        return u + v;
    case OP_SUB:
        return u - v;
    case OP_MUL:
        return u * v;
    case OP_DIV:
        return u / v;
    case OP_POWI:
        return powi(u, k);
    case OP_POW:
        return u > 0 ? exp(v * log(u)) : NAN;
    case OP_SIN:
        return sin(u);
    case OP_COS:
        return cos(u);
    case OP_TAN:
        return tan(u);
    case OP_ATAN:
        return atan(u);
    case OP_EXP:
        return exp(u);
    case OP_LOG:
        return u > 0 ? log(u) : NAN;
    case OP_SQRT:
        return u >= 0 ? sqrt(u) : NAN;
    case OP_ABS:
        return fabs(u);
    case OP_TANH:
        return tanh(u);
    case OP_SIGMOID:
        return sigmoid(u);
    case OP_SOFTPLUS:
        return (u > 0 ? u : 0) + log1p(exp(-fabs(u)));
    case OP_RELU:
        return u > 0 ? u : 0;
    case OP_MAX:
        return u >= v ? u : v;
    case OP_MIN:
        return u <= v ? u : v;
    default:
        return NAN;
    }
}

/* Partial derivatives of one operation at (u, v) with value r:
 * *du = ∂r/∂u, *dv = ∂r/∂v. */
static void partials(op_t op, double u, double v, double r, long k, double *du, double *dv) {
    *dv = 0;
    switch (op) {
    case OP_NEG:
        *du = -1;
        break;
    case OP_ADD:
        *du = 1;
        *dv = 1;
        break;
    case OP_SUB:
        *du = 1;
        *dv = -1;
        break;
    case OP_MUL:
        *du = v;
        *dv = u;
        break;
    case OP_DIV:
        *du = 1.0 / v;
        *dv = -u / (v * v);
        break;
    case OP_POWI:
        *du = k == 0 ? 0 : (double)k * powi(u, k - 1);
        break;
    case OP_POW:
        *du = v * r / u;
        *dv = r * log(u);
        break;
    case OP_SIN:
        *du = cos(u);
        break;
    case OP_COS:
        *du = -sin(u);
        break;
    case OP_TAN:
        *du = 1 + r * r;
        break;
    case OP_ATAN:
        *du = 1.0 / (1 + u * u);
        break;
    case OP_EXP:
        *du = r;
        break;
    case OP_LOG:
        *du = 1.0 / u;
        break;
    case OP_SQRT:
        *du = 0.5 / r;
        break;
    case OP_ABS:
        *du = u > 0 ? 1 : u < 0 ? -1 : 0;
        break;
    case OP_TANH:
        *du = 1 - r * r;
        break;
    case OP_SIGMOID:
        *du = r * (1 - r);
        break;
    case OP_SOFTPLUS:
        *du = sigmoid(u);
        break;
    case OP_RELU:
        *du = u > 0 ? 1 : 0;
        break;
    case OP_MAX:
        *du = u >= v ? 1 : 0;
        *dv = 1 - *du;
        break;
    case OP_MIN:
        *du = u <= v ? 1 : 0;
        *dv = 1 - *du;
        break;
    default:
        *du = 0;
        break;
    }
}

static int binary(op_t op) {
    return (op >= OP_ADD && op <= OP_DIV) || op == OP_POW || op == OP_MAX || op == OP_MIN;
}

/* Forward pass: values of every entry into val; returns an outcome code. */
static int forward_values(const games_expr *ex, const double *x, const double *y, double *val) {
    for (size_t t = 0; t < ex->n; t++) {
        const instr *in = &ex->tape[t];
        op_t op = (op_t)in->op;
        double u = op > OP_Y ? val[in->a] : 0, v = binary(op) ? val[in->b] : 0;
        switch (op) {
        case OP_CONST:
            val[t] = in->c;
            break;
        case OP_X:
            val[t] = x[in->k];
            break;
        case OP_Y:
            val[t] = y[in->k];
            break;
        case OP_LOG:
        case OP_POW:
            if (!(u > 0))
                return GAMES_EXPR_DOMAIN;
            val[t] = eval1(op, u, v, in->k);
            break;
        case OP_SQRT:
            if (u < 0)
                return GAMES_EXPR_DOMAIN;
            val[t] = sqrt(u);
            break;
        default:
            val[t] = eval1(op, u, v, in->k);
            break;
        }
    }
    return isfinite(val[ex->n - 1]) ? GAMES_EXPR_OK : GAMES_EXPR_NONFINITE;
}

static int finite_all(const double *g, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(g[i]))
            return 0;
    return 1;
}

int games_expr_eval(const games_expr *ex, const double *x, const double *y, double *f, double *gx,
                    double *gy, double *ws) {
    double *val = ws, *adj = ws + ex->n;
    int rc = forward_values(ex, x, y, val);
    *f = val[ex->n - 1];
    if (rc != GAMES_EXPR_OK || (!gx && !gy))
        return rc;
    for (size_t i = 0; gx && i < ex->d; i++)
        gx[i] = 0;
    for (size_t j = 0; gy && j < ex->e; j++)
        gy[j] = 0;
    memset(adj, 0, ex->n * sizeof(double));
    adj[ex->n - 1] = 1;
    for (size_t t = ex->n; t-- > 0;) {
        const instr *in = &ex->tape[t];
        op_t op = (op_t)in->op;
        double g = adj[t];
        if (g == 0)
            continue;
        if (op == OP_CONST)
            continue;
        if (op == OP_X) {
            if (gx)
                gx[in->k] += g;
            continue;
        }
        if (op == OP_Y) {
            if (gy)
                gy[in->k] += g;
            continue;
        }
        double du, dv;
        partials(op, val[in->a], binary(op) ? val[in->b] : 0, val[t], in->k, &du, &dv);
        adj[in->a] += g * du;
        if (binary(op))
            adj[in->b] += g * dv;
    }
    if ((gx && !finite_all(gx, ex->d)) || (gy && !finite_all(gy, ex->e)))
        return GAMES_EXPR_NONFINITE;
    return GAMES_EXPR_OK;
}

int games_expr_eval_forward(const games_expr *ex, const double *x, const double *y, double *f,
                            double *gx, double *gy, double *ws) {
    size_t nv = ex->d + ex->e, stride = nv + 1;
    double *val = ws; /* entry t: val[t*stride] value, then nv tangents */
    for (size_t t = 0; t < ex->n; t++) {
        const instr *in = &ex->tape[t];
        op_t op = (op_t)in->op;
        double *r = val + t * stride;
        memset(r, 0, stride * sizeof(double));
        if (op == OP_CONST) {
            r[0] = in->c;
            continue;
        }
        if (op == OP_X || op == OP_Y) {
            r[0] = op == OP_X ? x[in->k] : y[in->k];
            r[1 + (op == OP_X ? 0 : ex->d) + (size_t)in->k] = 1;
            continue;
        }
        const double *a = val + in->a * stride, *b = binary(op) ? val + in->b * stride : NULL;
        double u = a[0], v = b ? b[0] : 0;
        if (((op == OP_LOG || op == OP_POW) && !(u > 0)) || (op == OP_SQRT && u < 0))
            return GAMES_EXPR_DOMAIN;
        r[0] = eval1(op, u, v, in->k);
        double du, dv;
        partials(op, u, v, r[0], in->k, &du, &dv);
        for (size_t i = 1; i <= nv; i++)
            r[i] = du * a[i] + (b ? dv * b[i] : 0);
    }
    const double *root = val + (ex->n - 1) * stride;
    *f = root[0];
    for (size_t i = 0; gx && i < ex->d; i++)
        gx[i] = root[1 + i];
    for (size_t j = 0; gy && j < ex->e; j++)
        gy[j] = root[1 + ex->d + j];
    if (!isfinite(*f) || !finite_all(root + 1, nv))
        return GAMES_EXPR_NONFINITE;
    return GAMES_EXPR_OK;
}

/* games_expr.h — the payoff expression language: parse once, evaluate with
 * gradients by a reverse sweep over a tape (games.md §2, "expression").
 *
 * What it is for: payoffs f(x, y) typed by users as text over variables
 * x1..xd, y1..ye, the constants pi and e, and named finite parameters:
 *   expr := term (('+'|'-') term)*      term := unary (('*'|'/') unary)*
 *   unary := ('-'|'+') unary | pow      pow := prim ('^' unary)?  (right-assoc)
 *   prim := number | ident | ident '(' expr (',' expr)* ')' | '(' expr ')'
 * Functions: sin cos tan atan exp log sqrt abs tanh sigmoid softplus relu
 * (one argument), max min pow (two). Limits: 4096 ASCII bytes of source,
 * 1024 syntax nodes, nesting depth 64, d, e ≤ 32, 64 parameters with names
 * [A-Za-z_][A-Za-z0-9_]{0,31}. There are no loops, conditionals or user
 * functions, so one evaluation costs O(nodes).
 *
 * Compilation resolves every identifier, folds variable-free subtrees to
 * constants (so `x1^(2*k)` with a parameter k = 1 is an integer power), and
 * writes a tape in postfix order: entry k reads only entries < k. Evaluation
 * is one forward pass over the tape and, for gradients, one reverse pass
 * accumulating adjoints; no recursion at run time. A forward-mode evaluator
 * (value and d+e tangents) exists only to cross-check the reverse sweep.
 *
 * What it is not for: symbolic simplification, or anything but scalar
 * payoffs of two vector variables.
 *
 * Thread-safety: a compiled expression is immutable; evaluations on several
 * threads need one scratch buffer each.
 */
#ifndef GAMES_EXPR_H
#define GAMES_EXPR_H

#include <stddef.h>

#include "ms_err.h"

#define GAMES_EXPR_MAX_SRC 4096
#define GAMES_EXPR_MAX_NODES 1024
#define GAMES_EXPR_MAX_DEPTH 64
#define GAMES_EXPR_MAX_DIM 32
#define GAMES_EXPR_MAX_PARAMS 64
#define GAMES_EXPR_MAX_IDENT 32
/* Default admission budget of the kinds evaluating an expression, in tape
 * nodes × (d + e + 1) × evaluations over a run. Measured: a `nash` run of
 * 1.49e9 units (15-node tape, 100 + 100 atoms, 300 iterations) took 1.8 s
 * on one core, about 8e8 units/s, so 1e12 is some 20 minutes of a core —
 * three orders above every example and test. */
#define GAMES_EXPR_DEFAULT_BUDGET 1e12

typedef struct games_expr games_expr;

/* Evaluation outcome (not an ms_status: the caller names the point). */
enum { GAMES_EXPR_OK = 0, GAMES_EXPR_DOMAIN = 1, GAMES_EXPR_NONFINITE = 2 };

/* Compile `src` over x1..xd, y1..ye (d, e ≤ 32; either may be 0) with n_params
 * named parameters. On a syntax or name error returns MS_EINVAL with
 * err->field = `field` and a message "at position P: ..." (P is the 0-based
 * byte offset in src, also stored in *err_pos if not NULL); a parameter with
 * a bad name or value is reported at `params_field`/<name>. On success *out
 * owns the tape (free with games_expr_free). All-or-nothing. */
ms_status games_expr_compile(const char *src, size_t d, size_t e, const char *const *names,
                             const double *values, size_t n_params, const char *field,
                             const char *params_field, games_expr **out, size_t *err_pos,
                             ms_err *err);
void games_expr_free(games_expr *ex);

/* Tape length (after folding) and the scratch sizes, in doubles. */
size_t games_expr_length(const games_expr *ex);
size_t games_expr_ws_size(const games_expr *ex);
size_t games_expr_fwd_ws_size(const games_expr *ex);
/* Highest variable index used, per side (0 if none): the payoff needs at
 * least that dimension. */
size_t games_expr_max_x(const games_expr *ex);
size_t games_expr_max_y(const games_expr *ex);

/* f(x, y), and when gx/gy are not NULL the gradients ∇ₓf (d) and ∇ᵧf (e) by
 * the reverse sweep. ws holds games_expr_ws_size doubles. Returns
 * GAMES_EXPR_OK, _DOMAIN (log/sqrt/pow of a bad argument) or _NONFINITE
 * (the value or a gradient entry is not finite). */
int games_expr_eval(const games_expr *ex, const double *x, const double *y, double *f, double *gx,
                    double *gy, double *ws);

/* The same by forward mode (d + e tangents carried along); ws holds
 * games_expr_fwd_ws_size doubles. For tests. */
int games_expr_eval_forward(const games_expr *ex, const double *x, const double *y, double *f,
                            double *gx, double *gy, double *ws);

#endif

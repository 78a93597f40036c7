/* placeholder, replaced below */
#include "ot_barycenter_internal.h"
ms_status ot_bary__npgd_init(bary_state *s, const ms_ctx *ctx, ms_err *err) {
    (void)s;
    (void)ctx;
    return ms_fail(err, MS_EUNSUPPORTED, "method", "npgd: not built yet");
}
ms_status ot_bary__npgd_step(bary_state *s, const ms_ctx *ctx, ms_progress *prog, ms_err *err) {
    (void)s;
    (void)ctx;
    (void)prog;
    return ms_fail(err, MS_EUNSUPPORTED, "method", "npgd: not built yet");
}
ms_status ot_bary__mc_init(bary_state *s, const ms_ctx *ctx, ms_err *err) {
    (void)s;
    (void)ctx;
    return ms_fail(err, MS_EUNSUPPORTED, "method", "mc: not built yet");
}
ms_status ot_bary__mc_step(bary_state *s, const ms_ctx *ctx, ms_progress *prog, ms_err *err) {
    (void)s;
    (void)ctx;
    (void)prog;
    return ms_fail(err, MS_EUNSUPPORTED, "method", "mc: not built yet");
}

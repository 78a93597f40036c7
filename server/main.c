/* main.c — the `measured` executable: the daemon, or `measured solve`.
 *
 * What it is for: choosing the mode from argv and handing over; the daemon's
 * flags, environment and lifecycle live in daemon.c, the foreground runner
 * in solve.c.
 */
#include <cblas.h>
#include <string.h>

#include "daemon.h"
#include "solve.h"

int main(int argc, char **argv) {
    /* Jobs parallelise inside their steps with OpenMP, one worker per core:
     * BLAS threads on top would oversubscribe the machine. */
    openblas_set_num_threads(1);
    if (argc > 1 && strcmp(argv[1], "solve") == 0)
        return solve_main(argc - 1, argv + 1);
    return daemon_main(argc, argv);
}

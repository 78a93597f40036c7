/* main.c — the `measured` executable: the daemon, or `measured solve`.
 *
 * What it is for: choosing the mode from argv and handing over; the daemon's
 * flags, environment and lifecycle live in daemon.c, the foreground runner
 * in solve.c.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "solve.h"

/* Several jobs run at once, each with its own OpenMP team: threads that
 * spin at barriers (libgomp's default) would steal the cores the other
 * jobs need (a 2-thread step went from 1 s to 15 s under load). libgomp
 * reads OMP_WAIT_POLICY once, before main, so when the operator has not
 * chosen a policy the process re-executes itself with "passive". */
static void passive_openmp(char **argv) {
    if (getenv("OMP_WAIT_POLICY"))
        return;
    if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0)
        return;
    /* The executable's own path, not /proc/self/exe: the process name
     * (ps, top, docker top, systemctl status) comes from it. */
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return;
    self[n] = '\0';
    execv(self, argv);
    /* No /proc (or exec refused): carry on with the default policy. */
}

int main(int argc, char **argv) {
    passive_openmp(argv);
    /* Jobs parallelise inside their steps with OpenMP, one worker per core:
     * BLAS threads on top would oversubscribe the machine. */
    openblas_set_num_threads(1);
    if (argc > 1 && strcmp(argv[1], "solve") == 0)
        return solve_main(argc - 1, argv + 1);
    return daemon_main(argc, argv);
}

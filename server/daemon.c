/* daemon.c — placeholder until the HTTP daemon lands. */
#include "daemon.h"

#include <stdio.h>

int daemon_main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "measured: the daemon is not built yet; use `measured solve`\n");
    return 1;
}

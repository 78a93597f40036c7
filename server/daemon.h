/* daemon.h — the HTTP daemon's entry point (flags, environment, lifecycle). */
#ifndef DAEMON_H
#define DAEMON_H

/* Parse flags and environment, serve until SIGTERM/SIGINT; exit status. */
int daemon_main(int argc, char **argv);

#endif

/* solve.h — `measured solve FILE.json|-`: one job in the foreground.
 *
 * What it is for: running a job body through the same codec and runner as
 * the daemon, without a server: progress lines on stderr, the bare result
 * object on stdout. Exit 0 on success, 2 on invalid input (problem+json on
 * stderr), 1 when the run fails or is interrupted (problem+json on stderr).
 */
#ifndef SOLVE_H
#define SOLVE_H

/* argv[0] is "solve"; returns the process exit status. */
int solve_main(int argc, char **argv);

#endif

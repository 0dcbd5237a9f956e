/* The operator's commands of `imwire`, for a running installation: the
 * steering rules, the classifier, statistics and the daemon's control
 * socket. Each takes the command's own argv (argv[0] is its name) and
 * returns the exit status. Their usage lines are in imwire.c's table. */
#ifndef IMW_CLI_OPS_H
#define IMW_CLI_OPS_H

int ops_setup(int argc, char **argv);
int ops_attach(int argc, char **argv);
int ops_detach(int argc, char **argv);
int ops_proto(int argc, char **argv);
int ops_pin_dir(int argc, char **argv);
int ops_stats(int argc, char **argv);
int ops_sessions(int argc, char **argv);
int ops_tail(int argc, char **argv);
int ops_reload(int argc, char **argv);

#endif

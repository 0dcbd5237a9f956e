/* What the setup backends share: running a command. */
#ifndef IMW_SETUP_INTERNAL_H
#define IMW_SETUP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Run argv (found in PATH), with `input` (when not NULL) on its standard
 * input; quiet: its output goes to /dev/null, else to ours. Returns the
 * exit status, or -1 when it could not run or died by a signal. */
int setup_run(char *const argv[], const char *input, size_t input_len, bool quiet);
/* Run argv and capture its standard output (NUL-terminated, malloc'd, in
 * *out); its standard error is discarded. Exit status or -1. */
int setup_run_capture(char *const argv[], char **out);
/* Echo argv as one line. */
void setup_print_cmd(FILE *log, char *const argv[]);
/* True when the command is installed (in PATH). */
bool setup_have_tool(const char *name);

#endif

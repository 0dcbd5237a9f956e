/* The review console's commands, for imwire's main: search,
 * conversations, show, export, web, web-user. */
#ifndef IMW_REVIEW_CLI_H
#define IMW_REVIEW_CLI_H

#include <stdbool.h>
#include <stdio.h>

bool review_cli_handles(const char *cmd);
/* argv[0] is the command; the exit status. */
int review_cli_main(int argc, char **argv);
void review_cli_usage(FILE *out);

#endif

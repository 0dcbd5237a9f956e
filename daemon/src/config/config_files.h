/* The file-transfer keys (files=, files_dir=, clamd_socket=, scan_*)
 * applied to the file stage's configuration. Apart from config.h for the
 * same reason as config_flow.h. */
#ifndef IMW_CONFIG_FILES_H
#define IMW_CONFIG_FILES_H

#include "config/config.h"
#include "files/files.h"

/* Strings in fc point into cfg, which must outlive it. */
void config_apply_files(const struct imw_config *cfg, struct files_config *fc);

#endif

#include "config/config_files.h"

#include <stdlib.h>
#include <string.h>

void config_apply_files(const struct imw_config *cfg, struct files_config *fc)
{
	const char *v;
	bool b;

	if ((v = config_get(cfg, "files")) && config_parse_bool(v, &b))
		fc->follow = b;
	fc->dir = config_get(cfg, "files_dir");
	if ((v = config_get(cfg, "files_max_file_bytes")))
		fc->max_file = strtoull(v, NULL, 10);
	if ((v = config_get(cfg, "files_max_total_mb")))
		fc->max_total = strtoull(v, NULL, 10) * 1024 * 1024;
	if ((v = config_get(cfg, "files_expect_seconds")) && strtoull(v, NULL, 10) > 0)
		fc->expect_timeout = (double)strtoull(v, NULL, 10);
	fc->clamd_socket = config_get(cfg, "clamd_socket");
	if ((v = config_get(cfg, "scan_timeout_ms")) && strtoull(v, NULL, 10) > 0)
		fc->scan_timeout_ms = (unsigned)strtoull(v, NULL, 10);
	if ((v = config_get(cfg, "scan_max_bytes")))
		fc->scan_max_bytes = strtoull(v, NULL, 10);
	if ((v = config_get(cfg, "scan_hold")) && config_parse_bool(v, &b))
		fc->scan_hold = b;
	if ((v = config_get(cfg, "scan_fail")))
		fc->scan_fail_open = strcmp(v, "open") == 0;
	fc->notice_text = config_get(cfg, "blocked_notice_text");
	if ((v = config_get(cfg, "scan_hold_max_bytes")))
		fc->hold_max_bytes = strtoull(v, NULL, 10);
}

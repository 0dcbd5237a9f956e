#include "review/assets.h"

#include <string.h>

static const char style_css[] =
	"body{font:14px/1.4 sans-serif;margin:0;color:#222;background:#fafafa}\n"
	"nav{background:#234;padding:6px 12px}nav a,nav span{color:#fff;margin-right:14px;"
	"text-decoration:none}nav form{display:inline}nav button{font-size:12px}\n"
	"main{padding:12px 18px}table{border-collapse:collapse;background:#fff}\n"
	"td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}\n"
	"tr.hit{background:#fde2e2}.t{white-space:pre-wrap;word-break:break-word}\n"
	".mark{color:#a00;font-weight:bold}form.filters input{width:9em}\n"
	".note{color:#666}#tail li{font-family:monospace;white-space:pre-wrap}\n"
	".login{max-width:20em;margin:4em auto;background:#fff;padding:1em 2em;"
	"border:1px solid #ccc}.login input{width:100%;margin-bottom:8px}\n"
	"svg text{font:11px sans-serif}\n";

/* The live tail: new events from /events (Server-Sent Events) as text
 * nodes, never as markup. */
static const char tail_js[] =
	"'use strict';\n"
	"(function () {\n"
	"  var list = document.getElementById('tail');\n"
	"  if (!list || !window.EventSource) return;\n"
	"  var src = new EventSource('/events?after=' + encodeURIComponent(list.dataset.after));\n"
	"  src.onmessage = function (e) {\n"
	"    var d = JSON.parse(e.data);\n"
	"    var li = document.createElement('li');\n"
	"    li.textContent = d.time + ' ' + d.proto + ' ' + d.kind + ' ' + d.local +\n"
	"      (d.dir === 'out' ? ' -> ' : ' <- ') + d.remote + (d.filtered ? ' [BLOCKED]' : '') +\n"
	"      ': ' + d.text;\n"
	"    list.insertBefore(li, list.firstChild);\n"
	"    while (list.childNodes.length > 500) list.removeChild(list.lastChild);\n"
	"  };\n"
	"})();\n";

static const char icon_svg[] =
	"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\">"
	"<rect width=\"16\" height=\"16\" rx=\"3\" fill=\"#234\"/></svg>\n";

static const struct asset assets[] = {
	{ "/static/icon.svg", "image/svg+xml", icon_svg, sizeof(icon_svg) - 1 },
	{ "/static/style.css", "text/css; charset=utf-8", style_css, sizeof(style_css) - 1 },
	{ "/static/tail.js", "text/javascript; charset=utf-8", tail_js, sizeof(tail_js) - 1 },
};

const struct asset *asset_find(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof(assets) / sizeof(assets[0]); i++)
		if (strcmp(assets[i].path, path) == 0)
			return &assets[i];
	return NULL;
}

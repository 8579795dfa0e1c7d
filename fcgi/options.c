/* options.c: the command line and --help (see options.h). */
#include "options.h"

#include <stdlib.h>
#include <string.h>

#include "settings.h"

void options_usage(FILE *out)
{
	fprintf(out,
		"usage: immortal [--listen HOST:PORT|PATH]\n"
		"       immortal -t [DIR]\n"
		"       immortal --check [GROUP...]\n"
		"       immortal --help | --version\n"
		"\n"
		"A FastCGI responder that fails OpenAI-style chat requests over across\n"
		"the endpoints of a model group. Started by spawn-fcgi (or a web server)\n"
		"it serves the socket it was given; with --listen it opens its own; run\n"
		"as plain CGI it answers the one request.\n"
		"\n"
		"Options:\n"
		"  --listen HOST:PORT|PATH  open this TCP port or unix socket and serve it\n"
		"  -t, --test [DIR]         test the group files of DIR (default: the config\n"
		"                           folder) and the access keys file as the server\n"
		"                           would load them; one line per problem, exit 1 on\n"
		"                           errors; no network\n"
		"  --check [GROUP...]       send one tiny request (max_tokens 1) to every\n"
		"                           endpoint of these groups (default: all), every\n"
		"                           key of a key pool, and print what each answered;\n"
		"                           exit 1 unless all answered\n"
		"  -h, --help               this text\n"
		"  --version                the version\n"
		"\n"
		"Environment (default in brackets):\n");
	for (size_t i = 0; i < settings_n_vars; i++)
		fprintf(out, "  %-26s %s [%s]\n", settings_vars[i].name, settings_vars[i].meaning,
			settings_vars[i].dflt);
	fprintf(out, "\nSee immortal(8), immortal-groups(5) and the README.\n");
}

static int options_unknown(const char *arg)
{
	fprintf(stderr, "immortal: unknown argument %s (immortal --help lists the options)\n", arg);
	return -1;
}

int options_parse(int argc, char **argv, struct options *o)
{
	memset(o, 0, sizeof *o);
	/* Run as CGI, argv holds words of the request's query string (Apache
	 * passes "?--check" as an argument): a client must never pick a tool. */
	if (getenv("GATEWAY_INTERFACE") != NULL)
		return 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--listen") == 0 && i + 1 < argc) {
			o->listen_spec = argv[++i];
		} else if (strncmp(a, "--listen=", 9) == 0) {
			o->listen_spec = a + 9;
		} else if (strcmp(a, "-t") == 0 || strcmp(a, "--test") == 0) {
			o->mode = OPTIONS_TEST;
			if (i + 1 < argc && argv[i + 1][0] != '-')
				o->test_dir = argv[++i];
		} else if (strcmp(a, "--check") == 0) {
			/* everything after it names groups */
			o->mode = OPTIONS_CHECK;
			o->groups = argv + i + 1;
			o->n_groups = argc - i - 1;
			for (int k = 0; k < o->n_groups; k++)
				if (o->groups[k][0] == '-')
					return options_unknown(o->groups[k]);
			break;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			o->mode = OPTIONS_HELP;
		} else if (strcmp(a, "--version") == 0) {
			o->mode = OPTIONS_VERSION;
		} else {
			return options_unknown(a);
		}
	}
	return 0;
}

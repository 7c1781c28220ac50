/* main.c: the mockapi binary's entry point: dispatch on the first argument.
 *
 * A first argument that names a sub-command runs it with the arguments after
 * it. Anything else (no argument, a flag, an unknown word) runs the default
 * command, `serve`, over the whole argument list, so every invocation written
 * before sub-commands existed behaves as it did: `mockapi foo` is still
 * "unexpected argument" with exit 2.
 *
 * Exit codes (all commands): 0 success, 1 failure, 2 usage error; see
 * flags.h and README "Using the binary". */
#include <stdio.h>
#include <string.h>

#include "flags.h"
#include "run.h"
#include "serve.h"
#include "wait.h"

static int help_main(int argc, char **argv, int first);

static const struct command {
    const char *name;
    const char *synopsis; /* column 1 of the command list */
    const char *summary;  /* column 2 */
    int (*run)(int argc, char **argv, int first); /* returns the exit status */
    cli_usage_fn usage;
} commands[] = {
    {"serve", "serve [flags]", "run the server, or the -check probe (the default)", serve_main, serve_usage},
    {"run", "run [-n N] -- CMD", "start N servers, run CMD against them, stop them", run_main, run_usage},
    {"wait", "wait --ready-file F", "wait until F names a server that answers", wait_main, wait_usage},
    {"help", "help [COMMAND]", "this text, or COMMAND's", help_main, serve_usage},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static const struct command *find_command(const char *name)
{
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

void cli_print_commands(FILE *f)
{
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-22s %s\n", commands[i].synopsis, commands[i].summary);
}

static int help_main(int argc, char **argv, int first)
{
    if (argc - first > 1) {
        fprintf(stderr, "mockapi: help: unexpected argument \"%s\"\n", argv[first + 1]);
        serve_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const struct command *c = argc > first ? find_command(argv[first]) : find_command("serve");
    if (!c) {
        fprintf(stderr, "mockapi: help: unknown command \"%s\"\n", argv[first]);
        serve_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    c->usage(stdout);
    return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
    const struct command *c = argc > 1 ? find_command(argv[1]) : NULL;
    if (c)
        return c->run(argc, argv, 2);
    return serve_main(argc, argv, 1);
}

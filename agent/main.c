/* main.c -- gitfleet-agent: parse arguments and start the agent daemon */
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fputs("usage: gitfleet-agent [--help] [--version]\n"
          "\n"
          "The gitfleet agent pulls its cluster's signed bundle from the hub, applies\n"
          "it with server-side apply, heals drift and reports back.\n"
          "The daemon itself is not implemented yet in this version.\n",
          out);
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("gitfleet-agent %s\n", GF_VERSION);
        return 0;
    }
    if (argc > 1)
        fprintf(stderr, "gitfleet-agent: unknown argument '%s'\n", argv[1]);
    else
        fprintf(stderr, "gitfleet-agent: the agent daemon is not implemented yet\n");
    usage(stderr);
    return 2;
}

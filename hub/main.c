/* main.c -- gitfleet-hub: parse arguments and start the hub daemon */
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fputs("usage: gitfleet-hub [--help] [--version]\n"
          "\n"
          "The gitfleet hub watches one Git repository, renders the desired state of\n"
          "every cluster and serves each cluster its own signed bundle.\n"
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
        printf("gitfleet-hub %s\n", GF_VERSION);
        return 0;
    }
    if (argc > 1)
        fprintf(stderr, "gitfleet-hub: unknown argument '%s'\n", argv[1]);
    else
        fprintf(stderr, "gitfleet-hub: the hub daemon is not implemented yet\n");
    usage(stderr);
    return 2;
}

/* table.c -- aligned text tables for the CLI's human output */
#include "table.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct gf_cli_table {
    int columns;
    char **cells; /* rows * columns */
    size_t rows, cap;
};

struct gf_cli_table *gf_cli_table_new(int columns)
{
    struct gf_cli_table *t = calloc(1, sizeof(*t));

    if (t)
        t->columns = columns < GF_CLI_TABLE_MAX_COLUMNS ? columns : GF_CLI_TABLE_MAX_COLUMNS;
    return t;
}

void gf_cli_table_row(struct gf_cli_table *t, ...)
{
    va_list ap;

    if (t->rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **grown = realloc(t->cells, cap * (size_t)t->columns * sizeof(*grown));
        if (grown == NULL)
            return;
        t->cells = grown;
        t->cap = cap;
    }
    va_start(ap, t);
    for (int i = 0; i < t->columns; i++) {
        const char *s = va_arg(ap, const char *);
        t->cells[t->rows * (size_t)t->columns + (size_t)i] = strdup(s ? s : "");
    }
    va_end(ap);
    t->rows++;
}

void gf_cli_table_print(const struct gf_cli_table *t, FILE *out)
{
    size_t width[GF_CLI_TABLE_MAX_COLUMNS] = {0};

    for (size_t r = 0; r < t->rows; r++)
        for (int c = 0; c < t->columns; c++) {
            size_t n = strlen(t->cells[r * (size_t)t->columns + (size_t)c]);
            width[c] = n > width[c] ? n : width[c];
        }
    for (size_t r = 0; r < t->rows; r++) {
        for (int c = 0; c < t->columns; c++) {
            const char *cell = t->cells[r * (size_t)t->columns + (size_t)c];
            if (c == t->columns - 1)
                fprintf(out, "%s\n", cell);
            else
                fprintf(out, "%-*s  ", (int)width[c], cell);
        }
    }
}

void gf_cli_table_free(struct gf_cli_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->rows * (size_t)t->columns; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

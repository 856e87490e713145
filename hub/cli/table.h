/* table.h -- aligned text tables for the CLI's human output */
#ifndef GF_CLI_TABLE_H
#define GF_CLI_TABLE_H

#include <stdio.h>

/* Rows of at most GF_CLI_TABLE_MAX_COLUMNS cells; columns are as wide as
 * their widest cell, two spaces apart, the last one unpadded. */
#define GF_CLI_TABLE_MAX_COLUMNS 12

struct gf_cli_table;

struct gf_cli_table *gf_cli_table_new(int columns);
/* Append a row; exactly `columns` strings follow (NULL prints as ""). Copied. */
void gf_cli_table_row(struct gf_cli_table *t, ...);
void gf_cli_table_print(const struct gf_cli_table *t, FILE *out);
void gf_cli_table_free(struct gf_cli_table *t);

#endif

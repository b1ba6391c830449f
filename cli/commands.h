/* SPDX-License-Identifier: MIT */
/* The subcommands; each returns an exit code from exit_codes.h. */
#ifndef CR_CLI_COMMANDS_H
#define CR_CLI_COMMANDS_H

int cr_cmd_ingest(int argc, char **argv);
int cr_cmd_batches(int argc, char **argv);
int cr_cmd_layers(int argc, char **argv);
int cr_cmd_join(int argc, char **argv);
int cr_cmd_network(int argc, char **argv);
int cr_cmd_trace(int argc, char **argv);
int cr_cmd_serve(int argc, char **argv);
int cr_cmd_tile(int argc, char **argv);
int cr_cmd_seed(int argc, char **argv);
int cr_cmd_site(int argc, char **argv);
int cr_cmd_publish(int argc, char **argv);
int cr_cmd_generalise(int argc, char **argv);
int cr_cmd_patrol(int argc, char **argv);
int cr_cmd_export(int argc, char **argv);
int cr_cmd_review(int argc, char **argv);
int cr_cmd_accumulate(int argc, char **argv);
int cr_cmd_quality(int argc, char **argv);
int cr_cmd_alarms(int argc, char **argv);
int cr_cmd_compensation(int argc, char **argv);
int cr_cmd_sections(int argc, char **argv);
int cr_cmd_incident(int argc, char **argv);
int cr_cmd_gate(int argc, char **argv);
int cr_cmd_finding(int argc, char **argv);
int cr_cmd_report(int argc, char **argv);

#endif

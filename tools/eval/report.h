/*
 * report.h - the tables and plot of a run, made from its results.jsonl: one
 * row per dataset x length x mode, as summary.md, summary.csv and plot.png.
 */
#ifndef WIM_EVAL_REPORT_H
#define WIM_EVAL_REPORT_H

#include <stddef.h>

/* Reads DIR/results.jsonl and writes DIR/summary.md, DIR/summary.csv and,
 * when gnuplot is installed, DIR/plot.png (DIR/plot.gp and plot.dat beside
 * it). Prints the Markdown table to stdout unless quiet. 0, or -1 with a
 * one-line reason. */
int eval_report(const char *dir, int quiet, char *err, size_t errlen);

#endif

/*
 * analyze.h — `lazaretctl analyze`: the delivery-log rules run offline over a log
 * file, or the flow detectors over flows an operator already stores, no daemon needed,
 * to see whom the rules would flag.
 */
#ifndef LAZARET_CTL_ANALYZE_H
#define LAZARET_CTL_ANALYZE_H

#include <stddef.h>

/*
 * analyze_run — feed every line of files[0..nfiles) ("-" is standard input) through
 * the parser, the correlation and the judge configured by config_path (the shipped
 * defaults when NULL), then print the subjects that reached watch or above with
 * their evidence, as a table or as JSON. Returns 0; 1 when a file cannot be opened or
 * read (an error on stderr for each, nothing on stdout: no verdict over part of the
 * input) or memory runs out, also when a flagged subject could not be written as JSON
 * (named on stderr: the output lacks it); 2 for a bad configuration. Meant to run once,
 * just before the process exits: outside sanitizer builds it leaves the analysis's
 * memory to the exit (ANALYZE_FREE_AT_END in analyze.c).
 */
enum analyze_input {
	ANALYZE_MAILLOG,            /* Postfix's log */
	ANALYZE_FLOWS,              /* flows as `nfdump -r FILE -o csv` prints them: the flow
	                             * detectors, on [network] subscribers (required) */
};

int analyze_run(char *const *files, size_t nfiles, const char *config_path, int json, enum analyze_input input);

#endif

/*
 * replay.c — runs a fuzz target without libFuzzer: feeds every regular file named
 * on the command line, or found directly inside a directory named there, to
 * LLVMFuzzerTestOneInput. This is how the seeds run in the normal test suite.
 * Exits non-zero when it ran nothing, so an empty or missing seed directory fails.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Reads path whole into a buffer of exactly its size (so ASan flags reads past the
 * input) and runs the target on it. Returns 1 when it ran, 0 when path is not a
 * regular file, -1 on an I/O error.
 */
static int
replay_file(const char *path)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t size;
	FILE *fp;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode))
		return 0;
	size = (size_t)st.st_size;
	if ((fp = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	/* malloc(0) may return NULL; keep a real, if empty, allocation. */
	if ((buf = malloc(size ? size : 1)) == NULL) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		fclose(fp);
		return -1;
	}
	if (size > 0 && fread(buf, 1, size, fp) != size) {
		fprintf(stderr, "replay: %s: short read\n", path);
		free(buf);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	LLVMFuzzerTestOneInput(buf, size);
	free(buf);
	return 1;
}

/* Runs every regular file directly inside dir, in name order. */
static int
replay_dir(const char *dir, unsigned *ran)
{
	struct dirent **names;
	char path[4096];
	int i, n, rc, failed = 0;

	if ((n = scandir(dir, &names, NULL, alphasort)) == -1) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] == '.') {
			free(names[i]);
			continue;
		}
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    names[i]->d_name) >= sizeof(path)) {
			fprintf(stderr, "replay: %s/%s: path too long\n", dir,
			    names[i]->d_name);
			failed = 1;
		} else if ((rc = replay_file(path)) == -1)
			failed = 1;
		else
			*ran += (unsigned)rc;
		free(names[i]);
	}
	free(names);
	return failed ? -1 : 0;
}

int
main(int argc, char *argv[])
{
	struct stat st;
	unsigned ran = 0;
	int i, rc, failed = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s file-or-directory ...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == -1) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			failed = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &ran) == -1)
				failed = 1;
		} else if ((rc = replay_file(argv[i])) == -1)
			failed = 1;
		else
			ran += (unsigned)rc;
	}
	printf("replay: ran %u input%s\n", ran, ran == 1 ? "" : "s");
	if (ran == 0) {
		fprintf(stderr, "replay: no inputs found\n");
		return 1;
	}
	return failed ? 1 : 0;
}

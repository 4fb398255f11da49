/*
 * fsicat: print files from a filesystem image, with the classic libfsimage
 * calls only.
 *
 *   fsicat [-o OFFSET] IMAGE PATH...
 *
 * Build: cc $(pkg-config --cflags --libs fsimage) -o fsicat fsicat.c
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fsimage.h>

static int cat(fsi_t *fs, const char *image, const char *path)
{
	char buf[65536];
	fsi_file_t *f = fsi_open_file(fs, path);
	ssize_t n;

	if (f == NULL) {
		fprintf(stderr, "fsicat: %s: %s: %s (%s)\n", image, path,
		    strerror(errno), fsi_last_error());
		return -1;
	}
	while ((n = fsi_read_file(f, buf, sizeof(buf))) > 0) {
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
			perror("fsicat: stdout");
			fsi_close_file(f);
			return -1;
		}
	}
	if (n < 0) {
		fprintf(stderr, "fsicat: %s: %s: read: %s (%s)\n", image, path,
		    strerror(errno), fsi_last_error());
		fsi_close_file(f);
		return -1;
	}
	return fsi_close_file(f);
}

int main(int argc, char **argv)
{
	unsigned long long off = 0;
	fsi_t *fs;
	int i, c, rc = 0;

	while ((c = getopt(argc, argv, "o:")) != -1) {
		switch (c) {
		case 'o':
			off = strtoull(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: fsicat [-o OFFSET] IMAGE PATH...\n");
			return 2;
		}
	}
	if (argc - optind < 2) {
		fprintf(stderr, "usage: fsicat [-o OFFSET] IMAGE PATH...\n");
		return 2;
	}
	fs = fsi_open_fsimage(argv[optind], (uint64_t)off, NULL);
	if (fs == NULL) {
		fprintf(stderr, "fsicat: %s: %s (%s)\n", argv[optind],
		    strerror(errno), fsi_last_error());
		return 1;
	}
	for (i = optind + 1; i < argc; i++)
		if (cat(fs, argv[optind], argv[i]) != 0)
			rc = 1;
	fsi_close_fsimage(fs);
	if (fflush(stdout) != 0)
		rc = 1;
	return rc;
}

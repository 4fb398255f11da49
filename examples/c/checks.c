/*
 * checks: the C API's promises, checked from C: errno values, files that
 * outlive their image, reads from several threads at once, versioned
 * structs, the last-error message.
 *
 *   checks IMAGE OFFSET FILE DIR JUNK
 *
 * FILE is a regular file and DIR a directory of the filesystem at OFFSET of
 * IMAGE; JUNK is an image no plugin recognises. Exit status 0 when every
 * check passed; each check prints one line.
 *
 * Build: cc $(pkg-config --cflags --libs fsimage) -pthread -o checks checks.c
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fsimage.h>

static int failures;

static void expect(int ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok" : "FAIL", what);
	if (!ok) {
		printf("  errno %d (%s), last error: %s\n", errno,
		    strerror(errno), fsi_last_error());
		failures++;
	}
}

struct job {
	fsi_file_t *file;
	const char *want;
	size_t len;
	unsigned seed;
	int ok;
};

static void *reader(void *arg)
{
	struct job *j = arg;
	char buf[3000];
	int i;

	j->ok = 1;
	for (i = 0; i < 200 && j->len > 0; i++) {
		size_t off, n;
		ssize_t got;

		j->seed = j->seed * 1103515245u + 12345u;
		off = (j->seed >> 8) % j->len;
		n = 1 + (j->seed >> 4) % sizeof(buf);
		got = fsi_pread_file(j->file, buf, n, off);
		if (got < 0 || (size_t)got != (off + n > j->len ? j->len - off : n) ||
		    memcmp(buf, j->want + off, (size_t)got) != 0)
			j->ok = 0;
	}
	return NULL;
}

struct opener {
	const char *image, *file, *want;
	uint64_t off;
	size_t len;
	int ok;
};

/* Each thread opens the image itself and reads the whole file. */
static void *opener(void *arg)
{
	struct opener *o = arg;
	fsi_t *fs = fsi_open_fsimage(o->image, o->off, NULL);
	fsi_file_t *f = fs ? fsi_open_file(fs, o->file) : NULL;
	char *buf = malloc(o->len + 1);

	o->ok = f != NULL && buf != NULL &&
	    fsi_pread_file(f, buf, o->len + 1, 0) == (ssize_t)o->len &&
	    memcmp(buf, o->want, o->len) == 0;
	free(buf);
	if (f != NULL)
		fsi_close_file(f);
	fsi_close_fsimage(fs);
	return NULL;
}

static char *read_all(fsi_file_t *f, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	ssize_t r;

	while (buf != NULL && (r = fsi_read_file(f, buf + n, cap - n)) > 0) {
		n += (size_t)r;
		if (n == cap) {
			char *more = realloc(buf, cap * 2);
			if (more == NULL) {
				free(buf);
				return NULL;
			}
			buf = more;
			cap *= 2;
		}
	}
	*len = n;
	return buf;
}

int main(int argc, char **argv)
{
	const char *image, *file, *dir, *junk;
	char path[4200];
	uint64_t off;
	fsi_t *fs;
	fsi_file_t *f, *g;
	char *want, *again;
	size_t len = 0, len2 = 0;

	if (argc != 6) {
		fprintf(stderr, "usage: checks IMAGE OFFSET FILE DIR JUNK\n");
		return 2;
	}
	image = argv[1];
	off = strtoull(argv[2], NULL, 0);
	file = argv[3];
	dir = argv[4];
	junk = argv[5];

	errno = 0;
	expect(fsi_open_fsimage("/nonexistent/disk.img", 0, NULL) == NULL &&
	    errno == ENOENT, "missing image: NULL, ENOENT");
	expect(strlen(fsi_last_error()) > 0, "fsi_last_error says why");
	errno = 0;
	expect(fsi_open_fsimage(NULL, 0, NULL) == NULL && errno == EINVAL,
	    "NULL path: NULL, EINVAL");
	errno = 0;
	expect(fsi_open_fsimage(junk, 0, "") == NULL && errno == ENOTSUP,
	    "unrecognised image: NULL, ENOTSUP");

	fs = fsi_open_fsimage(image, off, "");
	expect(fs != NULL, "open the image with options \"\"");
	if (fs == NULL)
		return 1;

	errno = 0;
	expect(fsi_open_file(fs, dir) == NULL && errno == EISDIR,
	    "open a directory: NULL, EISDIR");
	snprintf(path, sizeof(path), "%s/below", file);
	errno = 0;
	expect(fsi_open_file(fs, path) == NULL && errno == ENOTDIR,
	    "a file used as a directory: NULL, ENOTDIR");
	errno = 0;
	expect(fsi_open_file(fs, "/no such file") == NULL && errno == ENOENT,
	    "missing file: NULL, ENOENT");
	errno = 0;
	expect(fsi_opendir(fs, file) == NULL && errno == ENOTDIR,
	    "opendir on a file: NULL, ENOTDIR");
	errno = 0;
	expect(fsi_readlink(fs, file, path, sizeof(path)) == -1 &&
	    errno == EINVAL, "readlink on a file: -1, EINVAL");
	expect(fsi_file_exists(fs, dir) == 1 && fsi_file_exists(fs, file) == 1,
	    "fsi_file_exists on a directory and a file");

	errno = 0;
	expect(fsi_bootstring_alloc(fs, (size_t)-1) == NULL &&
	    errno == ENOMEM, "absurd boot string size: NULL, ENOMEM");

	/* Versioned out-struct: an older caller's smaller struct. */
	{
		fsi_stat_t st;
		memset(&st, 0xAB, sizeof(st));
		st.struct_size = 16;
		expect(fsi_stat(fs, file, &st) == 0 && st.struct_size == 16 &&
		    st.kind == FSI_KIND_FILE && st.ino == 0xABABABABABABABABull,
		    "fsi_stat fills only the caller's struct_size");
		memset(&st, 0, sizeof(st));
		st.struct_size = sizeof(st);
		expect(fsi_stat(fs, file, &st) == 0 &&
		    st.struct_size == sizeof(st) && st.size > 0,
		    "fsi_stat fills the whole struct");
	}
	/* Versioned in-struct: a newer caller's bigger struct. */
	{
		struct { fsi_open_options_t o; uint64_t future; } big;
		fsi_t *fs2;
		memset(&big, 0, sizeof(big));
		big.o.struct_size = sizeof(big);
		big.o.flags = FSI_OPEN_OFFSET;
		big.o.offset = off;
		fs2 = fsi_open_image(image, &big.o);
		expect(fs2 != NULL, "options struct with unknown zero fields");
		fsi_close_fsimage(fs2);
		big.future = 1;
		errno = 0;
		expect(fsi_open_image(image, &big.o) == NULL && errno == EINVAL,
		    "options struct with unknown non-zero fields: EINVAL");
	}

	f = fsi_open_file(fs, file);
	expect(f != NULL, "open FILE");
	if (f == NULL)
		return 1;
	want = read_all(f, &len);
	expect(want != NULL && len > 0, "read FILE to its end");
	expect(fsi_read_file(f, path, 10) == 0, "read at the end: 0");
	expect(fsi_pread_file(f, path, 10, (uint64_t)len + 100) == 0,
	    "pread past the end: 0");
	expect(fsi_pread_file(f, NULL, 0, 0) == 0, "zero-byte read: 0");
	errno = 0;
	expect(fsi_pread_file(f, NULL, 10, 0) == -1 && errno == EINVAL,
	    "NULL buffer: -1, EINVAL");

	/* Several threads, one file. */
	{
		pthread_t t[4];
		struct job j[4];
		int i, ok = 1;
		for (i = 0; i < 4; i++) {
			j[i].file = f;
			j[i].want = want;
			j[i].len = len;
			j[i].seed = 77u * (unsigned)i + 1u;
			pthread_create(&t[i], NULL, reader, &j[i]);
		}
		for (i = 0; i < 4; i++) {
			pthread_join(t[i], NULL);
			ok &= j[i].ok;
		}
		expect(ok, "4 threads pread one file at once");
	}

	/* Several threads, each its own image. */
	{
		pthread_t t[4];
		struct opener o[4];
		int i, ok = 1;
		for (i = 0; i < 4; i++) {
			o[i].image = image;
			o[i].file = file;
			o[i].off = off;
			o[i].want = want;
			o[i].len = len;
			pthread_create(&t[i], NULL, opener, &o[i]);
		}
		for (i = 0; i < 4; i++) {
			pthread_join(t[i], NULL);
			ok &= o[i].ok;
		}
		expect(ok, "4 threads open the image and read at once");
	}

	/* Files outlive their image. */
	g = fsi_open_file(fs, file);
	fsi_close_fsimage(fs);
	again = g ? read_all(g, &len2) : NULL;
	expect(again != NULL && len2 == len && memcmp(again, want, len) == 0,
	    "a file stays readable after fsi_close_fsimage");
	expect(fsi_close_file(g) == 0 && fsi_close_file(f) == 0, "close files");
	errno = 0;
	expect(fsi_close_file(NULL) == -1 && errno == EINVAL,
	    "fsi_close_file(NULL): -1, EINVAL");
	fsi_close_fsimage(NULL);
	free(want);
	free(again);

	printf("%d failed\n", failures);
	return failures ? 1 : 0;
}

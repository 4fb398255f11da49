/*
 * fsils: list a directory of a filesystem image with the extended calls
 * (fsi_open_image, fsi_opendir/fsi_readdir, fsi_lstat, fsi_readlink).
 *
 *   fsils [-o OFFSET | -p PARTITION] [-t FS] [-P PLUGIN_DIR] [-S] [-R] IMAGE [PATH]
 *   fsils -L IMAGE
 *
 * -S runs the plugin in this process (no sandbox worker); -L lists the
 * partition table instead (fsi_list_partitions):
 *   ID SCHEME START SIZE TYPE FLAGS
 *
 * One line per entry, tab-separated like the fixture manifests:
 *   TYPE PATH SIZE TARGET-or-- MODE(octal)
 * with TYPE f (file), d (directory), l (symlink) or o (other).
 *
 * Build: cc $(pkg-config --cflags --libs fsimage) -o fsils fsils.c
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fsimage.h>

static const char *image;
static int recursive;
static int failed;

static void fail(const char *what, const char *path)
{
	fprintf(stderr, "fsils: %s: %s: %s: %s (%s)\n", image, path, what,
	    strerror(errno), fsi_last_error());
	failed = 1;
}

static char type_char(uint32_t kind)
{
	switch (kind) {
	case FSI_KIND_FILE: return 'f';
	case FSI_KIND_DIR: return 'd';
	case FSI_KIND_SYMLINK: return 'l';
	default: return 'o';
	}
}

static void list(fsi_t *fs, const char *dirpath)
{
	const fsi_dirent_t *e;
	fsi_dir_t *d = fsi_opendir(fs, dirpath);
	size_t dlen = strlen(dirpath);
	int r;

	if (d == NULL) {
		fail("opendir", dirpath);
		return;
	}
	while ((r = fsi_readdir(d, &e)) == 1) {
		fsi_stat_t st;
		char *path = malloc(dlen + e->name_len + 2);
		char target[4096] = "-";

		if (path == NULL) {
			perror("fsils");
			exit(1);
		}
		sprintf(path, "%s%s%s", dirpath,
		    (dlen > 0 && dirpath[dlen - 1] == '/') ? "" : "/", e->name);
		memset(&st, 0, sizeof(st));
		st.struct_size = sizeof(st);
		if (fsi_lstat(fs, path, &st) != 0) {
			fail("lstat", path);
			free(path);
			continue;
		}
		if (st.kind == FSI_KIND_SYMLINK) {
			ssize_t n = fsi_readlink(fs, path, target, sizeof(target));
			if (n < 0)
				fail("readlink", path);
			else if ((size_t)n >= sizeof(target))
				fprintf(stderr, "fsils: %s: target truncated\n", path);
		}
		printf("%c\t%s\t%llu\t%s\t%o\n", type_char(st.kind), path,
		    st.kind == FSI_KIND_DIR ? 0ULL : (unsigned long long)st.size,
		    target, st.mode & 07777);
		if (recursive && st.kind == FSI_KIND_DIR)
			list(fs, path);
		free(path);
	}
	if (r < 0)
		fail("readdir", dirpath);
	fsi_closedir(d);
}

static int partitions(const char *img)
{
	fsi_partitions_t *parts = fsi_list_partitions(img);
	size_t i, n;

	if (parts == NULL) {
		fprintf(stderr, "fsils: %s: %s (%s)\n", img, strerror(errno),
		    fsi_last_error());
		return 1;
	}
	n = fsi_partitions_count(parts);
	printf("table\t%s\n", fsi_partitions_table(parts));
	for (i = 0; i < n; i++) {
		const fsi_partition_t *p = fsi_partitions_get(parts, i);
		printf("%s\t%s\t%llu\t%llu\t%s\t%s%s\n", p->id, p->scheme,
		    (unsigned long long)p->start, (unsigned long long)p->size,
		    p->type_code, (p->flags & FSI_PART_BOOTABLE) ? "boot " : "",
		    (p->flags & FSI_PART_INVALID) ? p->invalid_reason : "");
	}
	if (fsi_partitions_get(parts, n) != NULL || errno != EINVAL) {
		fprintf(stderr, "fsils: entry past the end\n");
		fsi_partitions_free(parts);
		return 1;
	}
	fsi_partitions_free(parts);
	return 0;
}

int main(int argc, char **argv)
{
	fsi_open_options_t o;
	const char *path = "/";
	fsi_t *fs;
	int c, list_parts = 0;

	memset(&o, 0, sizeof(o));
	o.struct_size = sizeof(o);
	while ((c = getopt(argc, argv, "o:p:t:P:SRL")) != -1) {
		switch (c) {
		case 'o':
			o.flags |= FSI_OPEN_OFFSET;
			o.offset = strtoull(optarg, NULL, 0);
			break;
		case 'p':
			o.partition = optarg;
			break;
		case 't':
			o.fs_name = optarg;
			break;
		case 'P':
			o.plugin_dir = optarg;
			break;
		case 'S':
			o.flags |= FSI_OPEN_NO_SANDBOX;
			break;
		case 'R':
			recursive = 1;
			break;
		case 'L':
			list_parts = 1;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		goto usage;
	image = argv[optind];
	if (list_parts)
		return partitions(image);
	if (argc - optind == 2)
		path = argv[optind + 1];

	fs = fsi_open_image(image, &o);
	if (fs == NULL) {
		fprintf(stderr, "fsils: %s: %s (%s)\n", image, strerror(errno),
		    fsi_last_error());
		return 1;
	}
	fprintf(stderr, "fsils: %s: %s filesystem (libfsimage %s)\n", image,
	    fsi_fs_type(fs), fsi_version());
	list(fs, path);
	fsi_close_fsimage(fs);
	return failed;
usage:
	fprintf(stderr, "usage: fsils [-o OFFSET | -p PARTITION] [-t FS] "
	    "[-P PLUGIN_DIR] [-S] [-R] IMAGE [PATH]\n"
	    "       fsils -L IMAGE\n");
	return 2;
}
